import type { Config } from '../config';

/**
 * The one stylesheet, served at /pages.css: CSS variables for the theme (BRAND_COLOR as the
 * accent), light and dark from the system setting, a single column that reads at 375 px (recovery codes in one column there, never broken at a
 * hyphen). In dark,
 * text in the accent (links, focus rings) is the accent mixed half with white, and a danger button's text is
 * dark: the default accent on the dark card is 2.75:1 and white on the dark red 2.52:1, below
 * WCAG's 4.5:1 (axe-core's color-contrast in the e2e pages phase).
 */
export function stylesheet(config: Config): string {
  return `:root{--accent:${config.BRAND_COLOR};--bg:#f6f7f9;--card:#fff;--fg:#1b1f24;--muted:#59636e;--border:#d0d7de;--danger:#b42318;--ok:#1a7f37;--link:var(--accent);--on-danger:#fff;--radius:10px;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;--muted:#9198a1;--border:#30363d;--danger:#ff7b72;--ok:#3fb950;--link:color-mix(in srgb,var(--accent) 50%,#fff);--on-danger:#0d1117}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:center;gap:.6rem;justify-content:space-between;max-width:34rem;margin:0 auto;padding:1.2rem 1rem .4rem}
header .brand{display:flex;align-items:center;gap:.6rem;font-weight:600;color:inherit;text-decoration:none}header img{height:2rem;width:auto}
main{max-width:34rem;margin:0 auto;padding:0 1rem 3rem}
.card{background:var(--card);border:1px solid var(--border);border-radius:var(--radius);padding:1.4rem;margin:1rem 0}
h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:0 0 .8rem}
label{display:block;font-weight:500;margin:.8rem 0 .3rem}
input{width:100%;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--border);border-radius:6px;padding:.6rem .7rem}
input:focus,button:focus,a:focus{outline:2px solid var(--link);outline-offset:2px}
button,.button{display:inline-block;font:inherit;font-weight:600;border:0;border-radius:6px;padding:.6rem 1rem;margin-top:1rem;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:transparent;color:var(--fg);border:1px solid var(--border)}
button.danger{background:var(--danger);color:var(--on-danger)}
a{color:var(--link)}p.muted,.hint{color:var(--muted);font-size:.9rem}
.error{border-left:4px solid var(--danger);padding:.5rem .8rem;background:color-mix(in srgb,var(--danger) 10%,transparent);border-radius:4px}
.notice{border-left:4px solid var(--ok);padding:.5rem .8rem;background:color-mix(in srgb,var(--ok) 10%,transparent);border-radius:4px}
ul.sessions{list-style:none;padding:0;margin:0}ul.sessions li{display:flex;justify-content:space-between;gap:1rem;align-items:center;border-top:1px solid var(--border);padding:.6rem 0}
ul.sessions form button{margin:0}.inline{display:inline}
.qr{background:#fff;padding:.5rem;border-radius:6px;width:14rem;max-width:100%}.qr svg{display:block;width:100%;height:auto}
code.key{font-size:1.05rem;letter-spacing:.05em;word-spacing:.3em;overflow-wrap:anywhere}
ol.codes{columns:2;column-gap:3rem;font-family:ui-monospace,monospace;padding-left:2.2rem}ol.codes li{white-space:nowrap}
@media (max-width:28rem){ol.codes{columns:1}}
details{margin-top:1rem}summary{cursor:pointer;color:var(--link)}
.row{display:flex;gap:.6rem;flex-wrap:wrap;align-items:center}
header form button{margin-top:0}
label.check{display:flex;gap:.5rem;align-items:center;font-weight:400}label.check input{width:auto}
`;
}
