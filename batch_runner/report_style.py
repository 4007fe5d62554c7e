"""The CSS of report.html: readable on a 400 px phone and a 1400 px screen, printable.

Tables sit in `.scroll` boxes that scroll sideways on a narrow screen, so a header never breaks
mid-word and an id never wraps a few characters to a line; a Rye order id may break only after
a hyphen, an email only before its @. Nothing is fetched: no url(), no @import.
"""

CSS = """
:root{--ink:#1d1d1f;--muted:#66666b;--rule:#d9d9de;--soft:#f4f4f6}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
 margin:0 auto;padding:24px 32px 48px;max-width:1100px}
h1{font-size:22px;margin:0}h1 .stop{color:#c62828}h2{font-size:17px;margin:30px 0 8px}
h3{font-size:15px;margin:18px 0 4px;padding-left:10px;border-left:5px solid var(--c)}
h3 small{font-weight:normal;color:var(--muted);font-size:13px;margin-left:6px}
.sub{color:var(--muted);margin:2px 0 12px}.headline{font-size:16px;margin:4px 0}
.muted{color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:14px 0 6px}
.card{border:1px solid var(--rule);border-top:4px solid var(--c);border-radius:6px;
 padding:6px 14px;min-width:120px}.card b{display:block;font-size:22px}
.card span{font-size:12px;color:var(--muted)}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:4px 0 8px}
table{border-collapse:collapse;width:100%;margin:0}
th,td{border-bottom:1px solid var(--rule);padding:5px 8px;text-align:left;vertical-align:top;
 font-size:13px}
th{background:var(--soft);font-size:11px;text-transform:uppercase;letter-spacing:.04em;
 white-space:nowrap}
td code,td .email{white-space:nowrap}td a[href^="https"]{overflow-wrap:anywhere}
table.actions{min-width:820px}table.actions td.what{min-width:15em}
table.unfinished{min-width:560px}table.money td{white-space:nowrap}table.facts td{overflow-wrap:anywhere}
.stopped{border:1px solid #e5b4b4;border-left:6px solid #c62828;border-radius:6px;
 background:#fdf3f3;padding:4px 14px 10px;margin:14px 0}
.stopped h2{color:#c62828;margin:10px 0 6px}.stopped table{background:#fff}
pre{background:var(--soft);padding:8px 10px;border-radius:4px;overflow-x:auto;
 font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
td.n{text-align:right;font-variant-numeric:tabular-nums;width:6em}
table.facts td:first-child{color:var(--muted);white-space:nowrap;width:1%}
code{font:12px/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
td div+div{margin-top:2px}a{color:#0b57d0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(380px,100%),1fr));
 gap:12px 32px;align-items:start}.grid>*{min-width:0}
figure{margin:0}figcaption,.grid h4{font-weight:600;margin:0 0 4px;font-size:14px}
svg.chart{width:100%;height:auto;max-width:520px}
svg.chart text{font:11px system-ui,sans-serif;fill:var(--ink)}
svg .grid{stroke:#ececf0}svg .axis{stroke:#9a9aa0}
svg .line{fill:none;stroke:#1565c0;stroke-width:2}svg .area{fill:#1565c0;fill-opacity:.12}
svg .ceiling{fill:none;stroke:#9a9aa0;stroke-dasharray:5 4}svg .resumed{stroke:#c62828;stroke-dasharray:2 3}
@media (max-width:640px){body{padding:14px 12px 32px}h1{font-size:19px}
 .card{min-width:0;flex:1 1 40%}}
@media print{body{padding:0;max-width:none;font-size:11px}
 @page{margin:12mm}
 h2,h3{break-after:avoid}tr,figure,.card{break-inside:avoid}
 a{color:inherit;text-decoration:none}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""
