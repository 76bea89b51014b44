// 统计: grid assessment figures per grid, community or street over a date
// range, as a table and two plain SVG bar charts, with CSV and XLSX exports
// fetched with the token and saved through blob URLs.
import { h, mount, fmtTime } from '../dom.js';
import { call, blob, qs, explain } from './session.js';
import { areaPicker } from './areas.js';
import { LIGHT_COLOR } from './labels.js';

const LEVELS = [['grid', '网格'], ['community', '社区'], ['street', '街道']];
const pct = (v) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`);
const COLUMNS = [
  ['unit', '编码'], ['name', '名称'], ['grids', '网格数'], ['coverage', '巡查覆盖率', pct], ['patrols', '巡查'],
  ['visits', '走访'], ['records', '信息记录'], ['reports', '上报'], ['handles', '随手做'], ['incidents', '事件'],
  ['incidents_on_time', '按时'], ['incidents_overdue', '超期'], ['verifications', '核查'], ['reworks', '返工'],
  ['rework_rate', '返工率', pct], ['silent_grids', '沉默网格'], ['last_activity', '最近活动', (v) => (v ? fmtTime(v) : '无')],
];
const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k === 'testid' ? 'data-testid' : k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function isoDay(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Horizontal bars: rows of {label, parts: [{value, color, title}]}, scaled to `max`. */
function barChart(testid, title, rows, max, fmt) {
  const W = 640, LABEL = 190, BAR = 22, GAP = 8, TOP = 8;
  const H = TOP + rows.length * (BAR + GAP) + 4;
  const scale = (v) => (max > 0 ? (v / max) * (W - LABEL - 70) : 0);
  return h('figure', { class: 'chart', testid, 'data-bars': String(rows.length) },
    h('figcaption', {}, title),
    s('svg', { viewBox: `0 0 ${W} ${Math.max(H, 30)}`, width: '100%', role: 'img', 'aria-label': title },
      rows.map((r, i) => {
        const y = TOP + i * (BAR + GAP);
        let x = LABEL;
        const total = r.parts.reduce((a, p) => a + (p.value || 0), 0);
        return s('g', { testid: 'chart-bar', 'data-unit': r.unit, 'data-value': String(total) },
          s('text', { x: LABEL - 8, y: y + BAR * 0.75, 'text-anchor': 'end', 'font-size': 15 }, r.label),
          r.parts.map((p) => {
            const w = scale(p.value || 0);
            const rect = s('rect', { x, y, width: Math.max(w, 0), height: BAR, fill: p.color }, s('title', {}, p.title));
            x += w;
            return rect;
          }),
          s('text', { x: x + 6, y: y + BAR * 0.75, 'font-size': 15 }, fmt(r)));
      })));
}

export function statsView(root) {
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400000);
  const from = h('input', { type: 'date', testid: 'stats-from', value: isoDay(weekAgo), 'aria-label': '开始日期' });
  const to = h('input', { type: 'date', testid: 'stats-to', value: isoDay(today), 'aria-label': '结束日期' });
  const level = h('select', { testid: 'stats-level', 'aria-label': '统计层级' }, LEVELS.map(([v, t]) => h('option', { value: v }, t)));
  const silent = h('input', { type: 'number', testid: 'stats-silent-days', value: '3', min: '1', max: '365', 'aria-label': '沉默天数', style: { width: '6em' } });
  const area = areaPicker('stats');
  const load = h('button', { class: 'primary', testid: 'stats-load' }, '查询');
  const csv = h('button', { testid: 'stats-export-csv' }, '导出 CSV');
  const xlsx = h('button', { testid: 'stats-export-xlsx' }, '导出 Excel');
  const msg = h('p', { testid: 'stats-message', role: 'status', 'aria-live': 'polite' });
  const downloads = h('p', { testid: 'stats-downloads' });
  const out = h('div', { testid: 'stats-result', 'data-state': 'empty' });
  let seq = 0;
  const urls = [];

  mount(root,
    h('section', { class: 'filters', testid: 'stats-filters' },
      h('label', { class: 'inline' }, '从 ', from), h('label', { class: 'inline' }, '到 ', to),
      h('label', { class: 'inline' }, '层级 ', level), area.node,
      h('label', { class: 'inline' }, '沉默天数 ', silent),
      load, csv, xlsx),
    msg, downloads, out);

  function params() {
    return { from: from.value, to: to.value, level: level.value, silent_days: silent.value, ...area.value() };
  }

  async function run() {
    const mine = ++seq;
    out.dataset.state = 'loading';
    msg.className = 'muted'; msg.textContent = '正在统计…';
    try {
      const r = await call(`/stats${qs(params())}`);
      if (mine !== seq) return;
      msg.className = 'muted';
      msg.textContent = `${r.from} 至 ${r.to}，共 ${r.days} 天，按${(LEVELS.find(([v]) => v === r.level) || [])[1] || r.level}统计；沉默网格指 ${r.silent_days} 天内无任何记录的网格。`;
      render(r);
    } catch (e) {
      if (mine !== seq) return;
      out.dataset.state = 'failed';
      msg.className = 'err'; msg.textContent = `统计失败：${explain(e)}`;
    }
  }

  function render(r) {
    const rows = r.rows || [];
    const cell = (row, [k, , fmt]) => h('td', { 'data-col': k }, fmt ? fmt(row[k]) : (row[k] ?? ''));
    const table = h('table', { class: 'stats-table', testid: 'stats-table', 'data-rows': String(rows.length) },
      h('thead', {}, h('tr', {}, COLUMNS.map(([, t]) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((row) => h('tr', { testid: 'stats-row', 'data-unit': row.unit || '' }, COLUMNS.map((c) => cell(row, c))))),
      h('tfoot', {}, h('tr', { testid: 'stats-total' }, COLUMNS.map((c) => (c[0] === 'unit' ? h('th', { scope: 'row' }, '合计') : c[0] === 'name' ? h('td', {}, '') : cell(r.totals || {}, c))))));
    const label = (row) => String(row.name || row.unit || '').slice(0, 16);
    const N = 30;
    const worst = [...rows].sort((a, b) => (a.coverage ?? -1) - (b.coverage ?? -1) || String(a.unit).localeCompare(String(b.unit))).slice(0, N);
    const coverage = barChart('stats-chart-coverage', rows.length > N ? `巡查覆盖率最低的 ${N} 个（满格为 100%）` : '巡查覆盖率（满格为 100%）',
      worst.map((row) => ({ unit: row.unit, label: label(row), parts: [{ value: row.coverage || 0, color: '#1565c0', title: pct(row.coverage) }], coverage: row.coverage })),
      1, (x) => pct(x.coverage));
    const withInc = rows.filter((row) => row.incidents > 0)
      .sort((a, b) => b.incidents_overdue - a.incidents_overdue || b.incidents - a.incidents).slice(0, N);
    const maxInc = Math.max(0, ...withInc.map((row) => row.incidents || 0));
    const incidents = withInc.length ? barChart('stats-chart-incidents', '事件：按时（绿）与超期（红），超期多的在前',
      withInc.map((row) => ({ unit: row.unit, label: label(row), row, parts: [
        { value: row.incidents_on_time || 0, color: LIGHT_COLOR.green, title: `按时 ${row.incidents_on_time}` },
        { value: row.incidents_overdue || 0, color: LIGHT_COLOR.red, title: `超期 ${row.incidents_overdue}` }] })),
      maxInc, (x) => `按时 ${x.row.incidents_on_time} / 超期 ${x.row.incidents_overdue}`)
      : h('figure', { class: 'chart', testid: 'stats-chart-incidents', 'data-bars': '0' }, h('figcaption', {}, '事件'), h('p', { class: 'muted' }, '所选范围内没有事件'));
    mount(out, h('div', { class: 'table-wrap' }, table), h('div', { class: 'charts' }, coverage, incidents));
    out.dataset.state = 'ready';
    out.dataset.level = r.level;
  }

  async function exportAs(ext, btn) {
    btn.disabled = true;
    msg.className = 'muted'; msg.textContent = `正在导出 ${ext.toUpperCase()}…`;
    try {
      const { blob: b, disposition } = await blob(`/stats.${ext}${qs(params())}`);
      const name = (disposition.match(/filename="?([^";]+)"?/) || [])[1] || `gridpatrol-stats.${ext}`;
      const u = URL.createObjectURL(b);
      urls.push(u);
      const a = h('a', { href: u, download: name, testid: `stats-download-${ext}`, 'data-size': String(b.size) }, `下载 ${name}`);
      downloads.appendChild(a);
      downloads.appendChild(document.createTextNode(' '));
      a.click();
      msg.className = 'ok'; msg.textContent = `已导出 ${name}`;
    } catch (e) {
      msg.className = 'err'; msg.textContent = `导出失败：${explain(e)}`;
    } finally { btn.disabled = false; }
  }

  load.addEventListener('click', run);
  level.addEventListener('change', run);
  csv.addEventListener('click', () => exportAs('csv', csv));
  xlsx.addEventListener('click', () => exportAs('xlsx', xlsx));
  run();
  return {
    refresh: run,
    destroy() { seq += 1; for (const u of urls) URL.revokeObjectURL(u); },
  };
}
