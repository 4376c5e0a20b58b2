// mkxorepo: writes a Xen Orchestra backup repository holding full (XVA)
// backups, with Xen Orchestra's own remote handler (@xen-orchestra/fs), so
// that the bytes the tests read are the bytes Xen Orchestra writes:
// encryption.json and metadata.json from the handler's sync(), each .xva
// through its outputStream() (encrypted on an encrypted repository), each
// backup's metadata .json and the VM's cache.json.gz through outputFile().
// The layout and the metadata's fields are the ones Xen Orchestra's backup
// runner writes (FullRemoteWriter, RemoteAdapter.writeVmBackupMetadata);
// @xen-orchestra/backups itself needs a XAPI and cannot run here.
//
//   node mkxorepo.mjs --dir DIR [--key-file FILE] [--legacy]
//        --vm UUID:NAME --backup WHEN:EXPORT.xva [--backup ...]
//        [--vm UUID:NAME --backup ...]
//
// --key-file: the repository's encryption key, the 32-character string a
//   user types in Xen Orchestra (one trailing newline is dropped); without
//   it the repository is not encrypted.
// --legacy: @xen-orchestra/fs 3.3.0, whose encryption is AES-256-GCM (and
//   which still wrote .xva.checksum files on encrypted repositories);
//   otherwise 4.9.3, ChaCha20-Poly1305, no checksum file when encrypted.
// --vm: the VM the following --backup options belong to.
// --backup: WHEN is a date Date.parse() reads (2026-01-31T02:00:00Z) or
//   milliseconds since the epoch; EXPORT.xva is stored as
//   xo-vm-backups/UUID/<YYYYMMDD>T<HHMMSS>Z.xva.
//
// Prints one line per file written. Exits 2 on a usage error.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { randomUUID } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { resolve } from 'node:path'

const require = createRequire(import.meta.url)

function usage(message) {
  process.stderr.write(`mkxorepo: ${message}\n` +
    'usage: node mkxorepo.mjs --dir DIR [--key-file FILE] [--legacy] ' +
    '--vm UUID:NAME --backup WHEN:EXPORT.xva ...\n')
  process.exit(2)
}

function parseArgs(argv) {
  const opts = { dir: undefined, keyFile: undefined, legacy: false, vms: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`)
      return argv[++i]
    }
    if (arg === '--dir') opts.dir = resolve(value())
    else if (arg === '--key-file') opts.keyFile = value()
    else if (arg === '--legacy') opts.legacy = true
    else if (arg === '--vm') {
      const v = value()
      const colon = v.indexOf(':')
      if (colon <= 0) usage(`--vm ${v}: expected UUID:NAME`)
      opts.vms.push({ uuid: v.slice(0, colon), name: v.slice(colon + 1), backups: [] })
    } else if (arg === '--backup') {
      const v = value()
      if (opts.vms.length === 0) usage('--backup before any --vm')
      // The date may hold colons itself: the export is after the last one.
      const colon = v.lastIndexOf(':')
      if (colon <= 0) usage(`--backup ${v}: expected WHEN:EXPORT.xva`)
      const when = v.slice(0, colon)
      const timestamp = /^[0-9]+$/.test(when) ? Number(when) : Date.parse(when)
      if (!Number.isFinite(timestamp)) usage(`--backup ${v}: not a date: ${when}`)
      opts.vms.at(-1).backups.push({ timestamp, path: v.slice(colon + 1) })
    } else usage(`unknown option ${arg}`)
  }
  if (opts.dir === undefined) usage('--dir is required')
  return opts
}

// Xen Orchestra's file name for a backup taken at TIMESTAMP (its
// formatFilenameDate: UTC, %Y%m%dT%H%M%SZ).
function filenameDate(timestamp) {
  return new Date(timestamp).toISOString().replace(/[-:]/g, '').replace(/\.[0-9]{3}Z$/, 'Z')
}

function readKey(file) {
  if (file === undefined) return undefined
  const key = readFileSync(file, 'utf8').replace(/\r?\n$/, '')
  // Xen Orchestra takes the key's UTF-8 bytes as the cipher key: 32 bytes.
  if (Buffer.byteLength(key) !== 32) usage(`${file}: the key has ${Buffer.byteLength(key)} bytes, not 32`)
  return key
}

// The XAPI records a full backup's metadata carries, reduced to the fields
// a reader of the repository uses to name and describe the backup.
function vmRecords(vm, timestamp) {
  const record = {
    uuid: vm.uuid,
    name_label: vm.name,
    name_description: `${vm.name}, written by xvafs's tests`,
    power_state: 'Running',
    is_a_snapshot: false,
    is_a_template: false,
    tags: ['xvafs-test'],
    other_config: {},
  }
  const snapshot = {
    ...record,
    uuid: randomUUID(),
    name_label: `${vm.name} [XO Backup test]`,
    is_a_snapshot: true,
    snapshot_of: `OpaqueRef:${randomUUID()}`,
    snapshot_time: new Date(timestamp).toISOString().replace(/\.[0-9]{3}Z$/, 'Z'),
    power_state: 'Halted',
  }
  return { record, snapshot }
}

async function writeBackup(handler, vm, backup, jobId, scheduleId, checksum, cache) {
  const base = filenameDate(backup.timestamp)
  const dir = `xo-vm-backups/${vm.uuid}`
  const size = statSync(backup.path).size
  await handler.outputStream(`${dir}/${base}.xva`, createReadStream(backup.path), { checksum })
  console.log(`${dir}/${base}.xva${checksum ? ' (+ .checksum)' : ''}`)
  const { record, snapshot } = vmRecords(vm, backup.timestamp)
  const metadata = {
    jobId,
    mode: 'full',
    scheduleId,
    timestamp: backup.timestamp,
    version: '2.0.0',
    vm: record,
    vmSnapshot: snapshot,
    xva: `./${base}.xva`,
    size,
    tags: record.tags,
  }
  const path = `/${dir}/${base}.json`
  await handler.outputFile(path, JSON.stringify(metadata))
  console.log(path.slice(1))
  cache[path] = { ...metadata, _filename: path, id: path }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const encryptionKey = readKey(opts.keyFile)
  const fs = require(opts.legacy ? 'xo-fs-legacy' : '@xen-orchestra/fs')
  const handler = fs.getHandler({ url: `file://${opts.dir}`, encryptionKey })
  await handler.sync()
  // An unencrypted repository has no encryption.json (nor metadata.json).
  if (existsSync(`${opts.dir}/encryption.json`)) {
    console.log(`encryption.json: ${readFileSync(`${opts.dir}/encryption.json`, 'utf8')}`)
  }
  // Xen Orchestra stopped writing .xva.checksum on encrypted repositories
  // with the ChaCha20 release (CHANGELOG 5.103.0): the tag covers it.
  const checksum = encryptionKey === undefined || opts.legacy
  const jobId = randomUUID()
  const scheduleId = randomUUID()
  for (const vm of opts.vms) {
    const cache = {}
    for (const backup of vm.backups) {
      await writeBackup(handler, vm, backup, jobId, scheduleId, checksum, cache)
    }
    // The VM's backup cache, gzipped JSON, encrypted like every file.
    await handler.outputFile(`/xo-vm-backups/${vm.uuid}/cache.json.gz`,
      gzipSync(JSON.stringify(cache)))
    console.log(`xo-vm-backups/${vm.uuid}/cache.json.gz`)
  }
  await handler.forget()
}

main().catch(error => {
  process.stderr.write(`mkxorepo: ${error.stack ?? error}\n`)
  process.exit(1)
})
