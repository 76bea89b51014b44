// Chinese names of statuses, kinds, actions and fields shown in the console.
export const KIND = { patrol: '巡查', visit: '走访', record: '信息记录', handle: '随手做', report: '上报' };
export const KIND_COLOR = { patrol: '#1565c0', visit: '#2e7d32', record: '#6a1b9a', handle: '#ef6c00', report: '#c62828' };

export const STATUS = {
  reported: '待受理', accepted: '已受理', filed: '已立案', dispatched: '已派遣', handled: '已处置',
  verified: '已核查', closed: '已结案', rejected: '不予受理', returned: '回退', shelved: '挂账',
  void: '作废', self_handled: '自处理', extension: '延时申请',
};
export const MAIN_QUEUES = ['reported', 'accepted', 'filed', 'dispatched', 'handled', 'verified', 'closed'];
export const SIDE_QUEUES = ['rejected', 'returned', 'shelved', 'void', 'self_handled'];

/** Button text for a move to `to` from `from`. */
export function actionLabel(from, to) {
  if (to === 'dispatched') return from === 'handled' ? '返工（重新派遣）' : from === 'returned' ? '重新派遣' : '派遣';
  if (to === 'accepted') return from === 'self_handled' ? '转为受理' : '受理';
  if (to === 'filed') return from === 'shelved' ? '恢复立案' : '立案';
  return { rejected: '不予受理', void: '作废', shelved: '挂账', handled: '处置完毕', returned: '回退',
    verified: '核查通过', closed: '结案' }[to] || to;
}

export const LIGHT = { green: '绿灯（正常）', yellow: '黄灯（临近时限）', red: '红灯（已超期）' };
export const LIGHT_COLOR = { green: '#1b8a2f', yellow: '#f2b600', red: '#c4001d' };

export const ROLE = { supervisor: '主管', admin: '管理员', department: '职能部门', grid_leader: '网格长', patroller: '网格员' };

export const FIELD = {
  address: '地址', building: '楼栋', unit: '单元', room: '房号', head_name: '户主', phone: '电话',
  members: '人数', tags: '标签', location: '位置', note: '备注', status: '状态', title: '标题',
  description: '描述', category: '类别', urgent: '紧急', department: '处置部门', photos: '照片',
  notes: '处理记录', kind: '类型', occurred_at: '发生时间', deleted: '删除', id_number: '身份证号',
};
export const fieldName = (k) => FIELD[k] || k;

/** A value as plain text (JSON for objects), for display only. */
export function show(v, field) {
  if (v === undefined || v === null || v === '') return '（空）';
  if (field === 'status' && STATUS[v]) return `${STATUS[v]}（${v}）`;
  if (typeof v === 'boolean') return v ? '是' : '否';
  if (typeof v === 'object') {
    if (v.type === 'Point' && Array.isArray(v.coordinates)) return `${v.coordinates[0].toFixed(6)}, ${v.coordinates[1].toFixed(6)}`;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join('、') || '（空）';
    return JSON.stringify(v);
  }
  return String(v);
}
