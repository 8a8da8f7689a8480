import re, sys, sqlite3, json, hashlib
ws, out = sys.argv[1], sys.argv[2]
paths={l.split(':')[0].strip(): re.search(r'source: \./data/([^ }]+)', l).group(1) for l in open(f'{ws}/p.yaml') if 'uses: dataset' in l}
failed=set(re.findall(r"error: stage '([^']+)'", open(out).read()))
print(len(paths), 'stages:', len(paths)-len(failed), 'import,', len(failed), 'refused')
from collections import Counter
var=Counter(); ok=Counter()
pat = r'([a-z_]+?)(\.jsonl|\.unicode\.jsonl|\.array\.json|\.parquet|\.gzip\.parquet|\.zstd\.parquet|\.none-v2\.parquet|\.stream\.arrow|\.file\.arrow|\.csv|_arrow|_dict)$'
groups={}
for s,p in paths.items():
    m=re.match(pat, p)
    v = m.group(2) if m else 'edge cases'
    var[v]+=1; ok[v]+= s not in failed
    if m:
        kind = 'prompt-completion' if s.endswith('prompt-completion') else s.rsplit('-',1)[1]
        groups.setdefault((m.group(1), kind), {})[m.group(2)] = s
for v in sorted(var): print(f"  {v:18s} {ok[v]:3d} import / {var[v]:3d}")
db=sqlite3.connect(f'{ws}/artifacts/runs.sqlite')
outs={s: json.loads(o)['data'] for s,o in db.execute("select stage, outputs from stage_executions where outputs is not null and outputs != ''") if o and o != '{}'}
def content(d):
    h=hashlib.sha256()
    for f in ['train.jsonl','valid.jsonl','test.jsonl','stats.json']: h.update(open(f'{ws}/artifacts/objects/{d}/{f}','rb').read())
    return h.hexdigest()
same=diff=0
for (shape,kind),vs in sorted(groups.items()):
    r=vs.get('.jsonl')
    if r not in outs: continue
    for v,s in vs.items():
        if v in ('.jsonl', '.csv') or s not in outs: continue
        if content(outs[s])==content(outs[r]): same+=1
        else: diff+=1; print('  differs from .jsonl:', shape, kind, v)
print('Parquet/Arrow/save_to_disk/JSON-array imports whose split files and stats.json equal the .jsonl import:', same, 'of', same+diff)
