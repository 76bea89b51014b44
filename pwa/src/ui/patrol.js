import { h, mount } from '../dom.js';

export async function patrolScreen(root, { go }) {
  mount(root, h('p', {}, '即将推出'), h('button', { onclick: () => go('') }, '返回'));
}
