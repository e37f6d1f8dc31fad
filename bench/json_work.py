# A CPU-bound interpreter workload with moderate allocation, for the time to a leak report
# (bench/run_snapshots.sh): 100,000 JSON documents written and read back.
import json

rows = [json.dumps({"id": i, "tags": ["t%d" % (i % 7)] * 5, "v": i * 0.5}) for i in range(100000)]
parsed = [json.loads(r) for r in rows]
print(len(parsed), sum(p["id"] for p in parsed))
