import { constants, openSync, closeSync, ftruncateSync, statfsSync, write } from 'node:fs';
import { promisify } from 'node:util';
import { MemoryFileUnavailableError } from '../../core/errors.js';

/** Linux's O_TMPFILE (with O_DIRECTORY, as the kernel defines it): a file with no name, gone when its last descriptor closes. */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;
/** statfs f_type of tmpfs: pages in memory (or swap), never a disk's filesystem. */
const TMPFS_MAGIC = 0x01021994;
const writeAt = promisify(write);

/**
 * A file that lives only in memory: created nameless (O_TMPFILE) on a tmpfs,
 * so no path ever shows it and it vanishes when closed or when the process
 * dies. Native libraries that open models by path (llama.cpp, ExecuTorch's
 * loader, in this process or a child) open it as /proc/<pid>/fd/<n>.
 * This is memfd_create's effect without a native call.
 */
export class MemoryFile {
  private closed = false;
  private written = 0;

  private constructor(readonly fd: number) {}

  /** Where a process of the same user opens it. */
  get path(): string {
    return `/proc/${process.pid}/fd/${this.fd}`;
  }

  static create(dir = process.env.ONBOARD_MEMORY_DIR || '/dev/shm'): MemoryFile {
    let type: number;
    try {
      type = statfsSync(dir).type;
    } catch (error) {
      throw new MemoryFileUnavailableError(`${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (type !== TMPFS_MAGIC) throw new MemoryFileUnavailableError(`${dir} is not a tmpfs (memory) filesystem`);
    try {
      return new MemoryFile(openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600));
    } catch (error) {
      throw new MemoryFileUnavailableError(`${dir} does not accept nameless files (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }

  /** Asynchronous, so a multi-GB model does not block the event loop (a server answers /health while it loads). */
  async append(bytes: Buffer): Promise<void> {
    let done = 0;
    while (done < bytes.length) done += (await writeAt(this.fd, bytes, done, bytes.length - done, this.written + done)).bytesWritten;
    this.written += bytes.length;
  }

  /** Sets its size; on tmpfs, bytes never written are a hole that reads as zeros and takes no memory. */
  truncate(size: number): void {
    ftruncateSync(this.fd, size);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
