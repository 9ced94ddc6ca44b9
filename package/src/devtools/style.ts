// The panel's look, injected with it as one <style> element: no CSS file for the app to import
// and no framework. Every rule is scoped to the root class, so the app's page is untouched; the
// root resets what it would otherwise inherit from the app (`all: initial`), and the rules set
// what the app's own element rules might change (buttons, tables).
export const ROOT = "ferrysync-devtools";

const r = `.${ROOT}`;

export const STYLE = `
${r}{all:initial;display:flex;flex-direction:column;align-items:flex-end;gap:6px;z-index:2147483000;
font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#1f2430}
${r}.${ROOT}--inline{display:block}
${r}.${ROOT}--bottom-right,${r}.${ROOT}--bottom-left{position:fixed;bottom:12px;flex-direction:column-reverse}
${r}.${ROOT}--top-right,${r}.${ROOT}--top-left{position:fixed;top:12px}
${r}.${ROOT}--bottom-right,${r}.${ROOT}--top-right{right:12px}
${r}.${ROOT}--bottom-left,${r}.${ROOT}--top-left{left:12px;align-items:flex-start}
${r} *{box-sizing:border-box;font:inherit;color:inherit}
${r} .fsd-body{width:min(620px,calc(100vw - 24px));max-height:min(75vh,800px);overflow:auto;background:#fbfbfd;
border:1px solid #c8cdd8;border-radius:6px;box-shadow:0 6px 20px rgba(0,0,0,.18);padding:6px 10px}
${r}.${ROOT}--inline .fsd-body{width:auto;max-height:none;box-shadow:none}
${r} .fsd-toggle{all:unset;cursor:pointer;background:#1f2430;color:#fff;border-radius:14px;padding:4px 12px;
font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
${r} .fsd-toggle .fsd-bad,${r} .fsd-toggle .fsd-ok{color:inherit}
${r} .fsd-dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:6px;background:#8c959f}
${r} .fsd-dot.fsd-on{background:#2da44e}
${r} .fsd-title{display:flex;justify-content:space-between;gap:8px;margin:4px 0 6px;font-weight:bold}
${r} .fsd-section{border-top:1px solid #e1e4ea;padding:4px 0}
${r} summary{cursor:pointer;font-weight:bold;padding:2px 0}
${r} .fsd-count{display:inline-block;margin-left:6px;padding:0 6px;border-radius:8px;background:#e1e4ea;font-weight:normal}
${r} .fsd-count.fsd-bad{background:#ffd8d3}
${r} .fsd-fields{display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;margin:4px 0}
${r} dt{color:#57606a}
${r} dd{margin:0;overflow-wrap:anywhere}
${r} .fsd-table{border-collapse:collapse;width:100%;margin:4px 0}
${r} .fsd-table th,${r} .fsd-table td{text-align:left;padding:2px 8px 2px 0;border-bottom:1px solid #eef0f3;vertical-align:top;white-space:nowrap}
${r} .fsd-table th{color:#57606a;font-weight:normal}
${r} .fsd-table .fsd-wrap{white-space:normal;word-break:break-all}
${r} .fsd-table .fsd-text{white-space:normal}
${r} .fsd-button{cursor:pointer;background:#fff;border:1px solid #b6bcc8;border-radius:4px;padding:2px 8px;margin:2px 6px 2px 0}
${r} .fsd-button:disabled{cursor:default;opacity:.5}
${r} .fsd-danger{border-color:#cf222e;color:#cf222e}
${r} .fsd-ok{color:#1a7f37}
${r} .fsd-bad{color:#cf222e}
${r} .fsd-muted{color:#57606a;margin:4px 0}
${r} .fsd-warning{background:#fff8c5;border:1px solid #d4a72c;border-radius:4px;padding:6px 8px;margin:4px 0}
${r} .fsd-result{margin:4px 0;overflow-wrap:anywhere}
${r} pre{max-height:240px;overflow:auto;background:#f1f3f6;padding:6px;margin:4px 0;white-space:pre-wrap;overflow-wrap:anywhere}
${r} .fsd-conflict{margin:6px 0}
`;
