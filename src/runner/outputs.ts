// Which files of a task are its outputs. THE RULE (keep it exactly so; DESIGN.md "output"):
//
//   Every regular file under the working directory after the commands end, except input files
//   whose size and sha256 are unchanged from the unpacked input. Symlinks and empty directories
//   are not outputs.
//
// So an input the simulator rewrote (even to the same size) is an output, an input it left alone
// is not, and a new file is always one. Paths are relative, with "/" separators.
import { listFilesWithHashes } from "../lib/hash.js";

/** One file with its content hash, as listed in a manifest. */
export interface HashedFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly mtimeMs: number;
}

/** What the unpacked input looked like: path → size and sha256. */
export type InputSnapshot = ReadonlyMap<string, { readonly size: number; readonly sha256: string }>;

/** Records the input files right after unpacking, before any command runs. */
export async function snapshotInputs(workingDir: string): Promise<InputSnapshot> {
  const files = await listRegularFiles(workingDir);
  return new Map(files.map((file) => [file.path, { size: file.size, sha256: file.sha256 }]));
}

/** The outputs of a task whose commands have ended, sorted by path, with their sha256. */
export async function collectOutputs(
  workingDir: string,
  inputs: InputSnapshot,
): Promise<HashedFile[]> {
  const files = await listRegularFiles(workingDir);
  return files.filter((file) => {
    const input = inputs.get(file.path);
    return input === undefined || input.size !== file.size || input.sha256 !== file.sha256;
  });
}

async function listRegularFiles(dir: string): Promise<HashedFile[]> {
  // listFilesWithHashes lists regular files only: symlinks are neither followed nor listed.
  const files = await listFilesWithHashes(dir);
  return files.map(({ path, size, sha256, mtimeMs }) => ({ path, size, sha256, mtimeMs }));
}
