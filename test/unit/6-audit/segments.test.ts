import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Checkpointer } from '../../../gateway/pipeline/6-audit/checkpointer.ts';
import { type SegmentOptions, SegmentRotation } from '../../../gateway/pipeline/6-audit/segment-rotation.ts';
import { chainFiles, listSegments, segmentFile, segmentRange } from '../../../gateway/pipeline/6-audit/segments.ts';
import { AuditStore } from '../../../gateway/pipeline/6-audit/store.ts';
import { verifyAudit } from '../../../gateway/pipeline/6-audit/verify-audit.ts';
import { tempDir } from '../../temp-dir.ts';
import { auditEvent, runMandate } from './fixtures.ts';

// Rotation and retention as the writer thread drives them (SegmentRotation on real SQLite files,
// with a real Checkpointer), then checked as an auditor would: verifyAudit and the `mandate` CLI.

const root = tempDir('mandate-segments-');
let runs = 0;

interface Trail {
  readonly dir: string;
  readonly db: string;
  readonly checkpoints: string;
  readonly keys: string;
  append(count: number, time?: string): void;
  /** The rotation's clock. */
  now: Date;
  close(): void;
}

/**
 * A writer like writer-thread.ts: one event per commit, a rotation check after each, and the recent
 * events folded into the indexed table every 10 events (the thread's timer).
 */
function openTrail(options: SegmentOptions, dir = join(root, `trail-${++runs}`)): Trail {
  const db = join(dir, 'audit.db');
  const checkpoint = {
    everyEvents: 10_000,
    everySeconds: 3600,
    keyDir: join(dir, 'keys'),
    file: join(dir, 'cp.jsonl'),
  };
  const trail = {
    dir,
    db,
    checkpoints: checkpoint.file,
    keys: join(checkpoint.keyDir, 'public-keys.json'),
    now: new Date('2026-07-01T10:00:00.000Z'),
    append(count: number, time?: string) {
      for (let i = 0; i < count; i++) {
        const stored = active.store.appendBatch([auditEvent({ jti: `jti-${i}`, ...(time ? { time } : {}) })]);
        active.checkpoints?.committed(stored.at(-1)!);
        if (stored[0]!.seq % 10 === 0) active.store.foldRecent(1000);
        if (rotation.isDue(active.store, stored[0]!.time)) active = rotation.rotate(active);
      }
    },
    close() {
      rotation.close();
      active.checkpoints?.close();
      active.store.close();
    },
  };
  const rotation = new SegmentRotation(
    db,
    options,
    { store: () => AuditStore.open(db), checkpointer: () => Checkpointer.open(db, checkpoint) },
    () => trail.now,
  );
  let active = rotation.start();
  return trail;
}

const verify = (t: Trail) => verifyAudit({ files: chainFiles(t.db), checkpointsFile: t.checkpoints, keysFile: t.keys });
const cli = (t: Trail) =>
  runMandate(['audit', 'verify', '--db', t.db, '--checkpoints', t.checkpoints, '--keys', t.keys]);
const rows = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT seq, prev_hash, hash, kind, detail FROM events ORDER BY seq').all() as {
      seq: number;
      prev_hash: string;
      hash: string;
      kind: string;
      detail: string | null;
    }[];
  } finally {
    db.close();
  }
};

test('rotation by size seals read-only segments named after their seqs, and the chain continues across them', async () => {
  const t = openTrail({ maxBytes: 131_072 });
  t.append(300);
  t.close();
  const segments = listSegments(t.db);
  assert.ok(segments.length >= 2, `${segments.length} segments`);
  let expectedFirst = 1;
  let prevHash = '0'.repeat(64);
  for (const s of [...segments.map((s) => s.file), t.db]) {
    const r = rows(s);
    if (s !== t.db) {
      assert.equal(basename(s), basename(segmentFile(t.db, r[0]!.seq, r.at(-1)!.seq)));
      assert.equal(statSync(s).mode & 0o777, 0o444, 'sealed segments are read-only');
      assert.ok(!existsSync(`${s}-wal`), 'a sealed segment is one self-contained file');
      const mode = new Database(s, { readonly: true }).pragma('journal_mode', { simple: true });
      assert.equal(mode, 'delete');
    }
    assert.equal(r[0]!.seq, expectedFirst, 'seq continues');
    assert.equal(r[0]!.prev_hash, prevHash, "the first prev_hash is the previous segment's last hash");
    expectedFirst = r.at(-1)!.seq + 1;
    prevHash = r.at(-1)!.hash;
  }
  assert.equal(expectedFirst, 301, 'no event lost');

  // Each segment's last row is covered by a signed checkpoint (taken as it was sealed).
  const filed = new Set(
    readFileSync(t.checkpoints, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).seq as number),
  );
  for (const s of segments) assert.ok(filed.has(s.lastSeq), `checkpoint at seq ${s.lastSeq}`);

  const verdict = await verify(t);
  assert.equal(verdict.status, 'intact', verdict.problem);
  assert.equal(verdict.events, 300);
  assert.deepEqual(verdict.warnings, []);
  const out = cli(t);
  assert.equal(out.status, 0, out.stdout + out.stderr);
  assert.match(out.stdout, /^OK: audit chain intact, 300 events up to seq 300/);
});

test('rotation by age: the active file is sealed once its first event is older than max_age_seconds', () => {
  const t = openTrail({ maxAgeSeconds: 60 });
  t.append(3);
  assert.equal(listSegments(t.db).length, 0);
  t.now = new Date(t.now.getTime() + 61_000);
  t.append(1);
  t.close();
  assert.deepEqual(
    listSegments(t.db).map((s) => [s.firstSeq, s.lastSeq]),
    [[1, 4]],
  );
  assert.deepEqual(
    rows(t.db).map((r) => r.seq),
    [],
    'the new active file is empty until the next event',
  );
});

test('a restart after a crash right after the seal continues the newest segment (no fork at seq 1)', async () => {
  const t = openTrail({ maxAgeSeconds: 60 });
  t.append(3);
  t.now = new Date(t.now.getTime() + 61_000);
  t.append(1); // sealed: the new active file is still empty
  t.close();
  // The crash: the seal's rename happened, the new active file was never created.
  for (const suffix of ['', '-wal', '-shm']) rmSync(t.db + suffix, { force: true });
  const again = openTrail({ maxAgeSeconds: 60 }, t.dir);
  again.append(5);
  again.close();
  assert.deepEqual(
    rows(t.db).map((r) => r.seq),
    [5, 6, 7, 8, 9],
  );
  const verdict = await verify(t);
  assert.equal(verdict.status, 'intact', verdict.problem);
  assert.equal(verdict.events, 9);
});

test('a sealed segment refuses appends, even made writable again (a connection that opened it before the rename)', () => {
  const t = openTrail({ maxBytes: 131_072 });
  t.append(150);
  t.close();
  const segment = listSegments(t.db)[0]!;
  chmodSync(segment.file, 0o644);
  const late = AuditStore.open(segment.file);
  assert.throws(() => late.append(auditEvent()), { code: 'MANDATE_AUDIT_UNAVAILABLE' });
  late.close();
  assert.equal(rows(segment.file).at(-1)!.seq, segment.lastSeq);
});

test('while a reader holds the file the seal is postponed; the file stays active and takes appends', async () => {
  const t = openTrail({ maxBytes: 131_072 });
  const reader = new Database(t.db, { readonly: true });
  reader.prepare('SELECT count(*) FROM events').get();
  t.append(150);
  assert.equal(listSegments(t.db).length, 0, 'postponed');
  reader.close();
  t.now = new Date(t.now.getTime() + 11_000); // past the retry delay
  t.append(1);
  t.close();
  assert.equal(listSegments(t.db).length, 1);
  assert.equal((await verify(t)).status, 'intact');
});

test('retention by total size removes the oldest segments, each removal an event in the chain', async () => {
  const t = openTrail({ maxBytes: 131_072, retention: { maxTotalBytes: 300_000 } });
  t.append(600);
  t.close();
  const left = listSegments(t.db);
  const retentions = chainFiles(t.db)
    .flatMap(rows)
    .filter((r) => r.kind === 'retention');
  assert.ok(retentions.length >= 1, 'something was removed');
  assert.equal(left[0]!.firstSeq > 1, true);
  const detail = JSON.parse(retentions.at(-1)!.detail!);
  assert.equal(detail.last_seq, left[0]!.firstSeq - 1, 'the newest removal ends where the oldest file left starts');
  assert.equal(detail.rule, 'max_total_bytes');
  assert.equal(detail.archived_to, null);
  assert.match(detail.segment, /^audit-\d{12}-\d{12}\.db$/);
  assert.ok(!existsSync(join(t.dir, detail.segment)));

  const verdict = await verify(t);
  assert.equal(verdict.status, 'intact', verdict.problem);
  assert.deepEqual(verdict.retained, { lastSeq: detail.last_seq, recordedAt: retentions.at(-1)!.seq });
  const out = cli(t);
  assert.equal(out.status, 0, out.stdout + out.stderr);
  assert.match(out.stdout, new RegExp(`seqs 1–${detail.last_seq} removed by retention`));
});

test('retention by age moves old segments to the archive folder, never the active file', async () => {
  const archive = join(root, `archive-${runs}`);
  const t = openTrail({ maxBytes: 131_072, retention: { maxAgeSeconds: 3600, archiveDir: archive } });
  t.append(300, '2026-07-01T08:00:00.000Z'); // two hours before the clock: each segment goes as it is sealed
  const oldEvents = new Set(
    chainFiles(t.db)
      .flatMap(rows)
      .map((r) => r.seq),
  );
  t.close();
  const archived = readdirSync(archive).sort();
  assert.ok(archived.length >= 2, `${archived.length} archived`);
  assert.deepEqual(
    listSegments(t.db).map((s) => s.file),
    [],
    'every sealed segment was old',
  );
  assert.ok(existsSync(t.db), 'the active file stays');
  assert.ok(oldEvents.size < 300, 'the archived events left the trail');
  // Each removal's event went into the active file of its time, some of them archived since.
  const details = [...archived.map((a) => join(archive, a)), t.db]
    .flatMap(rows)
    .filter((r) => r.kind === 'retention')
    .map((r) => JSON.parse(r.detail!));
  assert.deepEqual(
    details.map((d) => [d.segment, d.rule, d.archived_to]),
    archived.map((s) => [s, 'max_age_seconds', join(archive, s)]),
  );
  // An archived segment is the file as sealed: it still verifies on its own.
  const first = await verifyAudit({ files: [join(archive, archived[0]!)] });
  assert.equal(first.status, 'intact');
  assert.equal((await verify(t)).status, 'intact');

  // With --archive, verify walks the whole chain again, from seq 1, archive and all.
  const withArchive = (...extra: string[]) =>
    runMandate(['audit', 'verify', '--db', t.db, '--checkpoints', t.checkpoints, '--keys', t.keys, ...extra]);
  const whole = withArchive('--archive', archive);
  assert.equal(whole.status, 0, whole.stdout + whole.stderr);
  // The 300 calls' events and one retention event per archived segment, from seq 1.
  const total = 300 + archived.length;
  assert.match(whole.stdout, new RegExp(`OK: audit chain intact, ${total} events up to seq ${total},`));
  assert.match(whole.stdout, new RegExp(`${archived.length} archived segment\\(s\\) up to seq \\d+ included`));
  assert.doesNotMatch(whole.stdout, /removed by retention/);
  assert.doesNotMatch(whole.stderr, /still here/, 'archived seqs are expected, not a warning');
  // The folder as typed, with a trailing slash: the same files are the archived ones.
  const slashed = withArchive('--archive', `${archive}/`);
  assert.equal(slashed.stdout, whole.stdout);
  assert.equal(slashed.stderr, whole.stderr);
  // A folder that is not there is an error, not an empty archive.
  assert.equal(withArchive('--archive', join(archive, 'missing')).status, 2);
  // One segment in both places: which copy is the trail's is not guessed.
  copyFileSync(join(archive, archived[0]!), join(t.dir, archived[0]!));
  const twice = withArchive('--archive', archive);
  assert.equal(twice.status, 2, twice.stdout + twice.stderr);
  assert.match(twice.stderr, /both in/);
  rmSync(join(t.dir, archived[0]!));
  // An archived segment lost: the chain no longer continues there.
  const lost = segmentRange(archived[1]!)!;
  rmSync(join(archive, archived[1]!));
  const broken = withArchive('--archive', archive);
  assert.equal(broken.status, 1, broken.stdout + broken.stderr);
  assert.match(broken.stdout, new RegExp(`^BROKEN at seq ${lost.firstSeq}:`));
});

// Tampering across segments: each is caught, with verify's usual exit codes.

function sealedTrail(): { t: Trail; segments: string[] } {
  const t = openTrail({ maxBytes: 131_072 });
  t.append(400);
  t.close();
  const segments = listSegments(t.db).map((s) => s.file);
  assert.ok(segments.length >= 3, `${segments.length} segments`);
  return { t, segments };
}

test('a missing segment in the middle: BROKEN (exit 1) where it should have continued', () => {
  const { t, segments } = sealedTrail();
  const gone = listSegments(t.db)[1]!;
  rmSync(segments[1]!);
  const out = cli(t);
  assert.equal(out.status, 1, out.stdout);
  assert.match(out.stdout, new RegExp(`^BROKEN at seq ${gone.firstSeq}: .*does not continue the file before it`));
});

test('the oldest segment deleted without a retention event: BROKEN (exit 1), a segment is missing', () => {
  const { t, segments } = sealedTrail();
  const gone = listSegments(t.db)[0]!;
  rmSync(segments[0]!);
  const out = cli(t);
  assert.equal(out.status, 1, out.stdout);
  assert.match(
    out.stdout,
    new RegExp(`^BROKEN at seq ${gone.lastSeq}: .*no retention event records .*a segment is missing`),
  );
});

test('two segments swapped (renamed into each other’s place): BROKEN (exit 1)', () => {
  const { t, segments } = sealedTrail();
  const [a, b] = [segments[0]!, segments[1]!];
  renameSync(a, `${a}.tmp`);
  renameSync(b, a);
  renameSync(`${a}.tmp`, b);
  const out = cli(t);
  assert.equal(out.status, 1, out.stdout);
  // The file named first now holds later seqs: its content does not match its name.
  assert.match(
    out.stdout,
    /^BROKEN at seq \d+: .*audit-000000000001-\d+\.db holds seqs \d+–\d+, not what its name says/,
  );
});

test('a segment renamed to claim other seqs: BROKEN (exit 1)', () => {
  const { t, segments } = sealedTrail();
  const last = listSegments(t.db).at(-1)!;
  renameSync(segments.at(-1)!, segmentFile(t.db, last.firstSeq, last.lastSeq + 5));
  const out = cli(t);
  assert.equal(out.status, 1, out.stdout);
  assert.match(out.stdout, /not what its name says/);
});

test('a broken link between segments (a sealed row altered): BROKEN (exit 1) at that row', () => {
  const { t, segments } = sealedTrail();
  const s = listSegments(t.db)[1]!;
  const db = new Database(segments[1]!);
  db.exec('DROP TRIGGER events_no_update');
  db.prepare("UPDATE events SET user = 'mallory' WHERE seq = ?").run(s.firstSeq);
  db.close();
  const out = cli(t);
  assert.equal(out.status, 1, out.stdout);
  assert.match(out.stdout, new RegExp(`^BROKEN at seq ${s.firstSeq}: content does not match`));
});

test('the newest segment and the active file removed: TRUNCATED (exit 4) by the external checkpoints', () => {
  const { t, segments } = sealedTrail();
  rmSync(segments.at(-1)!);
  rmSync(t.db);
  renameSync(segments.at(-2)!, t.db); // the older segment passed off as the active file
  const out = cli(t);
  assert.equal(out.status, 4, out.stdout);
  assert.match(out.stdout, /^TRUNCATED at seq /);
});

test('query reads across segments: the latest N overall, and every match whichever file holds it', () => {
  const t = openTrail({ maxBytes: 131_072 });
  t.append(250);
  t.close();
  const segments = listSegments(t.db);
  assert.ok(segments.length >= 2);
  const query = (...args: string[]) => {
    const out = runMandate(['audit', 'query', '--db', t.db, ...args, '--format', 'json']);
    assert.equal(out.status, 0, out.stderr);
    return (JSON.parse(out.stdout) as { seq: number }[]).map((r) => r.seq);
  };
  assert.deepEqual(query('--limit', '5'), [246, 247, 248, 249, 250]);
  assert.deepEqual(query('--user', 'alice@example.com', '--limit', '300').length, 250);
  const all = query('--limit', '1000');
  assert.deepEqual(
    all,
    all.map((_, i) => i + 1),
    'oldest first, in chain order, across files',
  );
});

test('calls: a decision sealed just before a rotation is paired with its outcome written just after', () => {
  const dir = join(root, `trail-${++runs}`);
  const db = join(dir, 'audit.db');
  const rotation = new SegmentRotation(
    db,
    { maxBytes: 1 << 30 },
    { store: () => AuditStore.open(db), checkpointer: () => undefined },
  );
  let active = rotation.start();
  const call = (correlationId: string, resourceId: string) => ({
    correlationId,
    resourceId,
    path: `/api/orders/${resourceId}`,
  });
  const outcome = { kind: 'outcome' as const, status: 201, durationMs: 12.5, bytesIn: 40, bytesOut: 80 };
  // po-1 completes before the rotation; po-2's decision is sealed, its outcome lands in the new file;
  // po-3's decision is sealed too, and its outcome was never written (the gateway died mid-call).
  active.store.appendBatch([
    auditEvent({ ...call('c1', 'po-1'), time: '2026-07-01T10:00:01.000Z' }),
    auditEvent({ ...call('c1', 'po-1'), ...outcome, time: '2026-07-01T10:00:02.000Z' }),
    auditEvent({ ...call('c2', 'po-2'), time: '2026-07-01T10:00:03.000Z' }),
    auditEvent({ ...call('c3', 'po-3'), time: '2026-07-01T10:00:04.000Z' }),
  ]);
  active = rotation.rotate(active);
  active.store.appendBatch([auditEvent({ ...call('c2', 'po-2'), ...outcome, time: '2026-07-01T10:00:05.000Z' })]);
  rotation.close();
  active.store.close();
  assert.equal(listSegments(db).length, 1, 'one sealed segment');

  const out = runMandate([
    'audit',
    'query',
    'resource-access',
    '--db',
    db,
    '--resource',
    'purchase_order:po-2',
    '--format',
    'json',
  ]);
  assert.equal(out.status, 0, out.stderr);
  const [po2] = JSON.parse(out.stdout) as Record<string, unknown>[];
  assert.deepEqual(
    [po2?.seq, po2?.outcome_seq, po2?.status, po2?.finished, po2?.duration_ms, po2?.bytes_in, po2?.bytes_out],
    [3, 5, 201, '2026-07-01T10:00:05.000Z', 12.5, 40, 80],
  );
  const calls = (resource: string) => {
    const r = runMandate(['audit', 'query', 'resource-access', '--db', db, '--resource', resource, '--format', 'json']);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { seq: number; outcome_seq: number | null }[]).map((c) => [c.seq, c.outcome_seq]);
  };
  assert.deepEqual(calls('purchase_order:po-1'), [[1, 2]], 'paired within its file, as before');
  assert.deepEqual(calls('purchase_order:po-3'), [[4, null]], 'no outcome written: none invented');
});
