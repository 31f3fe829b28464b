# Re-verifies a `mandate audit export` (JSON Lines on stdin) without Mandate: the README's recipe.
# hash = hex(SHA-256(prev_hash + "\n" + canonical JSON of the row without prev_hash and hash)),
# canonical JSON = keys sorted, no spaces, non-ASCII kept as UTF-8 (RFC 8785 for these rows).
import hashlib, json, sys

prev, n = None, 0
for n, line in enumerate(sys.stdin, 1):
    row = json.loads(line)
    h, p = row.pop("hash"), row.pop("prev_hash")
    if prev is not None and p != prev:
        sys.exit(f"BROKEN at seq {row['seq']}: prev_hash does not link to the line before")
    canonical = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if hashlib.sha256(f"{p}\n{canonical}".encode()).hexdigest() != h:
        sys.exit(f"BROKEN at seq {row['seq']}: content does not match its hash")
    prev = h
print(f"OK: {n} events, last hash {prev}")
