import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import type { BackupFormat } from './types';

/** Passes bytes through unchanged while hashing and counting them (no buffering beyond one chunk). */
export class HashingCounter extends Transform {
  private readonly hash = crypto.createHash('sha256');
  bytes = 0;

  constructor() {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export interface Digest {
  sha256: string;
  bytes: number;
}

export async function hashFile(file: string, signal?: AbortSignal): Promise<Digest> {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Every regular file below `dir`, as relative paths in byte-wise sorted order. */
export function listDirectoryFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(relPath);
      else if (entry.isFile()) files.push(relPath);
    }
  };
  walk('');
  return files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * The directory format's checksum (method `directory-v1`). pg_dump writes those files itself, so
 * they are hashed after it finished — the one exception to hashing while streaming: sha256 over
 * each file in byte-wise sorted relative-path order as `path NUL size NUL content`.
 */
export async function hashDirectory(dir: string, signal?: AbortSignal): Promise<Digest> {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  for (const rel of listDirectoryFiles(dir)) {
    const file = path.join(dir, rel);
    const size = fs.statSync(file).size;
    hash.update(`${rel}\0${size}\0`);
    const stream = fs.createReadStream(file, { highWaterMark: 1 << 20, signal });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  }
  return { sha256: hash.digest('hex'), bytes };
}

export function hashBackup(file: string, format: BackupFormat, signal?: AbortSignal): Promise<Digest> {
  return format === 'directory' ? hashDirectory(file, signal) : hashFile(file, signal);
}

/** Size on disk of a backup: the file, or the files of a directory-format backup. */
export function backupSize(file: string, format: BackupFormat): number {
  if (format !== 'directory') return fs.statSync(file).size;
  let total = 0;
  for (const rel of listDirectoryFiles(file)) total += fs.statSync(path.join(file, rel)).size;
  return total;
}

/** Current size of a folder being written (progress for the directory format); never throws. */
export function folderBytes(dir: string): number {
  let total = 0;
  try {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      try {
        total += fs.statSync(path.join(dir, entry.name)).size;
      } catch {
        // written and renamed under us
      }
    }
  } catch {
    // not created yet
  }
  return total;
}
