/// The live dashboard: one page, no build step. It polls `/api/status` every second and draws the
/// rates from the cumulative counters (per node throughput, latency and health; top tenants and
/// buckets; retries, hedges, resumes and sheds as they happen). Elements carry `data-metric`
/// attributes so a headless browser test can read the numbers it shows.
enum Dashboard {
    static let html = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spillway</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#0f172a;color:#e2e8f0}
 header{display:flex;align-items:baseline;gap:24px;padding:14px 22px;background:#111827;border-bottom:1px solid #1f2937}
 h1{font-size:19px;margin:0;color:#38bdf8} h2{font-size:14px;margin:18px 0 8px;color:#94a3b8;text-transform:uppercase;letter-spacing:.06em}
 main{padding:8px 22px 30px} .tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
 .tile{background:#111827;border:1px solid #1f2937;border-radius:8px;padding:10px 12px}
 .tile b{display:block;font-size:22px;color:#f8fafc} .tile span{color:#94a3b8;font-size:12px}
 table{border-collapse:collapse;width:100%;background:#111827;border:1px solid #1f2937;border-radius:8px;overflow:hidden}
 th,td{padding:6px 10px;border-bottom:1px solid #1f2937;text-align:right;white-space:nowrap} th{color:#94a3b8;font-weight:600}
 td:first-child,th:first-child,td.l{text-align:left}
 .ok{color:#4ade80}.bad{color:#f87171}.warn{color:#fbbf24}.muted{color:#64748b}
 canvas{width:100%;height:170px;background:#111827;border:1px solid #1f2937;border-radius:8px}
 .grid2{display:grid;grid-template-columns:1fr 1fr;gap:14px} button{background:#1f2937;color:#e2e8f0;border:1px solid #334155;border-radius:5px;padding:2px 8px;cursor:pointer}
 #feed{font:12px ui-monospace,monospace;background:#111827;border:1px solid #1f2937;border-radius:8px;padding:8px;height:120px;overflow:auto}
</style></head><body>
<header><h1>Spillway</h1><span>config v<span id="version" data-metric="config_version">–</span></span>
<span>up <span id="uptime">–</span></span><span id="fleet"></span><span id="tls"></span><span id="updated" class="muted"></span></header>
<main>
<div class="tiles">
 <div class="tile"><b id="rps" data-metric="requests_per_second">–</b><span>requests / s</span></div>
 <div class="tile"><b id="mbps">–</b><span>MB/s to clients</span></div>
 <div class="tile"><b id="inflight" data-metric="in_flight">–</b><span>in flight</span></div>
 <div class="tile"><b id="requests" data-metric="requests_total">–</b><span>requests</span></div>
 <div class="tile"><b id="errors" data-metric="errors_total">–</b><span>errors (5xx, cut)</span></div>
 <div class="tile"><b id="retries" data-metric="retries_total">–</b><span>retries</span></div>
 <div class="tile"><b id="hedges" data-metric="hedges_total">–</b><span>hedges (wins <i id="hedgewins">–</i>)</span></div>
 <div class="tile"><b id="resumes" data-metric="resumes_total">–</b><span>resumed downloads</span></div>
 <div class="tile"><b id="shed" data-metric="shed_total">–</b><span>shed (SlowDown)</span></div>
 <div class="tile"><b id="queued" data-metric="queued_total">–</b><span>queued</span></div>
</div>
<h2>Nodes</h2>
<table id="nodes"><thead><tr><th>pool / node</th><th>state</th><th>in flight</th><th>req/s</th><th>MB/s</th><th>EWMA ms</th><th>avg TTFB ms</th><th>requests</th><th>errors</th><th>ejections</th><th></th></tr></thead><tbody></tbody></table>
<div class="grid2"><div><h2>Throughput per node (req/s, last 2 min)</h2><canvas id="tput" width="700" height="170"></canvas></div>
<div><h2>Latency per node (EWMA ms, last 2 min)</h2><canvas id="lat" width="700" height="170"></canvas></div></div>
<div class="grid2"><div><h2>Top tenants</h2><table id="tenants"><thead><tr><th>tenant</th><th>class</th><th>req/s</th><th>MB/s</th><th>admitted</th><th>queued</th><th>shed</th></tr></thead><tbody></tbody></table></div>
<div><h2>Top buckets</h2><table id="buckets"><thead><tr><th>bucket</th><th>req/s</th><th>MB/s</th><th>requests</th><th>errors</th></tr></thead><tbody></tbody></table></div></div>
<h2>What is happening</h2><div id="feed"></div>
</main>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = token ? {Authorization: "Bearer " + token} : {};
let last = null; const span = 120; const colours = ["#38bdf8","#f472b6","#a3e635","#fbbf24","#c084fc","#fb7185","#2dd4bf"];
function fmt(n, d=0){ return n==null ? "–" : Number(n).toLocaleString("en-US",{maximumFractionDigits:d,minimumFractionDigits:d}); }
function esc(s){ return String(s).replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c])); }
function state(n){ const tag=(cls,text)=>'<span class="'+cls+'" data-metric="node_state">'+text+'</span>';
  if(n.drained) return tag("warn","drained");
  if(n.ejectedForSeconds!=null) return tag("bad","ejected "+fmt(n.ejectedForSeconds)+"s");
  if(!n.healthy) return tag("bad","down"); if(n.throttled) return tag("warn","throttling");
  return tag("ok","in rotation"); }
function feed(msg, at){ const f=document.getElementById("feed"); const d=document.createElement("div");
  d.textContent=new Date(at||Date.now()).toLocaleTimeString()+"  "+msg; f.prepend(d); while(f.children.length>200) f.lastChild.remove(); }
let lastEventAt = 0;
async function act(pool, node, action){ await fetch(`/api/pools/${encodeURIComponent(pool)}/nodes/${node}/${action}`,{method:"POST",headers}); tick(); }
// One line per node over the gateway's own one-second samples (so the chart is full as soon as the
// page opens), newest at the right, with a mark where a node was ejected, went down or was drained.
function chart(id, samples, value, marks){ const c=document.getElementById(id), g=c.getContext("2d"); g.clearRect(0,0,c.width,c.height);
  const urls=[...new Set(samples.flatMap(x=>x.nodes.map(n=>n.url)))];
  let max=1; for(const x of samples) for(const n of x.nodes) max=Math.max(max,value(n));
  const width=Math.max(samples.length,30), left=40, w=c.width-45, top=10, h=c.height-25, xAt=i=>left+w*(width-samples.length+i)/(width-1);
  g.strokeStyle="#1f2937"; g.fillStyle="#64748b"; g.font="11px sans-serif";
  for(let i=0;i<=4;i++){ const y=top+h*i/4; g.beginPath(); g.moveTo(left,y); g.lineTo(c.width,y); g.stroke(); g.fillText(fmt(max*(1-i/4), max<10?1:0),2,y+4); }
  if(samples.length){ const t0=samples[0].atUnixMillis, t1=samples[samples.length-1].atUnixMillis;
    for(const m of marks) if(m.atUnixMillis>=t0 && m.atUnixMillis<=t1){ const i=(m.atUnixMillis-t0)/Math.max(1,t1-t0)*(samples.length-1), x=xAt(i);
      g.strokeStyle=m.kind==="drained"?"#fbbf24":"#f87171"; g.setLineDash([4,3]); g.beginPath(); g.moveTo(x,top); g.lineTo(x,top+h); g.stroke(); g.setLineDash([]);
      g.fillStyle=g.strokeStyle; g.fillText(m.kind.replace("_"," ")+" "+m.url.replace("http://",""), Math.min(x+3,c.width-150), top+10); } }
  urls.forEach((u,k)=>{ g.strokeStyle=colours[k%colours.length]; g.lineWidth=1.6; g.beginPath(); let started=false;
    samples.forEach((x,i)=>{ const n=x.nodes.find(n=>n.url===u); if(!n) return; const y=top+h*(1-value(n)/max); started?g.lineTo(xAt(i),y):g.moveTo(xAt(i),y); started=true; });
    g.stroke(); g.lineWidth=1; g.fillStyle=colours[k%colours.length]; g.fillText(u.replace("http://",""), 48+k*150, c.height-3); }); }
async function tick(){
  let s, hist; try { const [r,hr]=await Promise.all([fetch("/api/status",{headers}), fetch("/api/history",{headers})]);
    if(!r.ok){ document.getElementById("updated").textContent="admin API: "+r.status; return; } s=await r.json(); hist=hr.ok?await hr.json():[]; } catch(e){ return; }
  const latest=hist.length?hist[hist.length-1]:null, nodeRate={}; if(latest) for(const n of latest.nodes) nodeRate[n.pool+"|"+n.url]=n;
  const t=s.totals, p=last?last.totals:null;
  document.getElementById("version").textContent=s.configVersion; document.getElementById("uptime").textContent=fmt(s.uptimeSeconds)+" s";
  document.getElementById("fleet").textContent = s.fleetRedisReachable==null ? "" : (s.fleetRedisReachable ? "fleet: Redis ok" : "fleet: Redis UNREACHABLE (local share)");
  // Each TLS listener's certificate: days left (amber under 14, red under 3), and a refused reload.
  document.getElementById("tls").innerHTML=(s.tls||[]).map(c=>{ const days=Math.floor((c.notValidAfter*1000-Date.now())/86400000);
    return '<span class="'+(days<3?"bad":days<14?"warn":"")+'" title="'+esc(c.subject)+'">TLS '+esc(c.address)+': certificate expires in <b data-metric="tls_expiry_days">'+days+'</b> days'
      +(c.lastReloadProblem?' <span class="bad">(reload refused: '+esc(c.lastReloadProblem)+')</span>':'')+'</span>'; }).join(" ");
  document.getElementById("rps").textContent=latest?fmt(latest.requestsPerSecond,1):"–";
  document.getElementById("mbps").textContent=latest?fmt(latest.bytesOutPerSecond/1e6,2):"–";
  for(const [id,key] of [["inflight","inFlight"],["requests","requests"],["errors","errors"],["retries","retries"],["hedges","hedges"],["hedgewins","hedgeWins"],["resumes","resumes"],["shed","shed"],["queued","queued"]])
    document.getElementById(id).textContent=t[key];
  if(p){ for(const [key,label] of [["retries","retried on another node"],["hedges","hedged a slow read"],["resumes","resumed a broken download"],["shed","shed (SlowDown)"],["queued","queued for a node with room"],["errors","failed"]])
    if(t[key]>p[key]) feed((t[key]-p[key])+" request(s) "+label); }
  // Health changes and operator actions, from the gateway's own history (so a page opened after an
  // ejection still shows it).
  const events=s.pools.flatMap(pl=>pl.events.map(e=>({...e,pool:pl.name}))).filter(e=>e.atUnixMillis>lastEventAt).sort((a,b)=>a.atUnixMillis-b.atUnixMillis);
  for(const e of events){ feed(e.pool+" "+e.url+": "+e.kind.replace("_"," ")+(e.detail?" ("+e.detail+")":""), e.atUnixMillis); lastEventAt=Math.max(lastEventAt,e.atUnixMillis); }
  const rows=[];
  for(const pl of s.pools) for(const n of pl.nodes){ const r=nodeRate[pl.name+"|"+n.url], st=state(n);
    const rps=r?r.requestsPerSecond:0, mbps=r?r.bytesOutPerSecond/1e6:0, ttfb=n.requests?n.firstByteMsTotal/n.requests:0;
    rows.push(`<tr data-node="${esc(n.url)}"><td class="l">${esc(pl.name)} / ${esc(n.url)}</td><td>${st}</td><td data-metric="node_in_flight">${n.inFlight}${n.inFlightLimit!=null?" / "+n.inFlightLimit:""}</td><td>${fmt(rps,1)}</td><td>${fmt(mbps,2)}</td><td>${fmt(n.latencyEWMAms,1)}</td><td>${fmt(ttfb,1)}</td><td data-metric="node_requests">${n.requests}</td><td data-metric="node_errors">${n.errors}</td><td>${n.ejections}</td>
      <td><button onclick="act('${esc(pl.name)}',${n.index},'${n.drained?"undrain":"drain"}')">${n.drained?"undrain":"drain"}</button></td></tr>`); }
  document.querySelector("#nodes tbody").innerHTML=rows.join("");
  const marks=s.pools.flatMap(pl=>pl.events).filter(e=>["ejected","probe_down","drained"].includes(e.kind));
  const shown=hist.slice(-span); chart("tput",shown,n=>n.requestsPerSecond,marks); chart("lat",shown,n=>n.latencyEWMAms,marks);
  // Busiest first, by this second's rate (from the gateway's samples), then by all-time requests.
  const byName=(list)=>Object.fromEntries((list||[]).map(x=>[x.name,x]));
  const tr=byName(latest&&latest.tenants), br=byName(latest&&latest.buckets), busy=(r)=>(a,b)=>((r[b.name]||{}).requestsPerSecond||0)-((r[a.name]||{}).requestsPerSecond||0)||b.requests-a.requests;
  document.querySelector("#tenants tbody").innerHTML=[...s.tenants].sort(busy(tr)).slice(0,10).map(x=>{const r=tr[x.name]||{};
    return `<tr data-tenant="${esc(x.name)}"><td class="l">${esc(x.name)}</td><td class="l">${esc(x.className||"")}</td><td>${fmt(r.requestsPerSecond||0,1)}</td><td>${fmt((r.bytesOutPerSecond||0)/1e6,2)}</td><td>${x.admitted}</td><td>${x.queued}</td><td data-metric="tenant_shed">${x.shed}</td></tr>`}).join("");
  document.querySelector("#buckets tbody").innerHTML=[...s.buckets].sort(busy(br)).slice(0,10).map(x=>{const r=br[x.name]||{};
    return `<tr data-bucket="${esc(x.name)}"><td class="l">${esc(x.name)}</td><td>${fmt(r.requestsPerSecond||0,1)}</td><td>${fmt((r.bytesOutPerSecond||0)/1e6,2)}</td><td data-metric="bucket_requests">${x.requests}</td><td>${x.errors}</td></tr>`}).join("");
  document.getElementById("updated").textContent="updated "+new Date().toLocaleTimeString();
  last=s; }
tick(); setInterval(tick, 1000);
</script></body></html>
"""#
}
