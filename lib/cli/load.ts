// Opening a model file for a command: one clear line when it is not one.
import { loadModel, ModelFormatError, type MLP } from '../index.js';
import { CliError } from './args.js';

export async function openModel(file: string): Promise<MLP> {
  try {
    return await loadModel(file);
  } catch (error) {
    // ModelFileError already names the file and the reason (missing, unreadable...).
    if (error instanceof ModelFormatError) throw new CliError(`${file} is not a valid mlpstream model file: ${error.message}`);
    throw error;
  }
}
