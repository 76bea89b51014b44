// Default incident category tree; the server's /meta "categories" replaces it.
import { kvGet } from './store.js';

export const DEFAULT_CATEGORIES = [
  { code: '01', name: '市容环境', children: [
    { code: '0101', name: '暴露垃圾' }, { code: '0102', name: '乱堆物料' }, { code: '0103', name: '违规广告' },
    { code: '0104', name: '道路不洁' }, { code: '0105', name: '绿化损毁' } ] },
  { code: '02', name: '街面秩序', children: [
    { code: '0201', name: '占道经营' }, { code: '0202', name: '乱停车辆' }, { code: '0203', name: '违章搭建' },
    { code: '0204', name: '噪声扰民' } ] },
  { code: '03', name: '安全隐患', children: [
    { code: '0301', name: '消防通道堵塞' }, { code: '0302', name: '电动车违规充电' }, { code: '0303', name: '井盖缺失' },
    { code: '0304', name: '危房危墙' }, { code: '0305', name: '燃气隐患' } ] },
  { code: '04', name: '矛盾纠纷', children: [
    { code: '0401', name: '邻里纠纷' }, { code: '0402', name: '家庭纠纷' }, { code: '0403', name: '物业纠纷' },
    { code: '0404', name: '劳资纠纷' } ] },
  { code: '05', name: '民生服务', children: [
    { code: '0501', name: '独居老人关怀' }, { code: '0502', name: '困难救助' }, { code: '0503', name: '设施报修' },
    { code: '0504', name: '政策咨询' } ] },
  { code: '99', name: '其他', children: [{ code: '9901', name: '其他事项' }] },
];

export async function categories() {
  const meta = await kvGet('meta', null);
  const c = meta && Array.isArray(meta.categories) && meta.categories.length ? meta.categories : DEFAULT_CATEGORIES;
  return c;
}

export async function categoryName(code) {
  // The configured tree first, then the default one (records made before /meta
  // arrived); a code neither knows is not shown: people read names, not codes.
  for (const tree of [await categories(), DEFAULT_CATEGORIES]) {
    for (const p of tree) {
      if (p.code === code) return p.name;
      for (const c of p.children || []) if (c.code === code) return `${p.name} / ${c.name}`;
    }
  }
  return code ? '其他类别' : '';
}
