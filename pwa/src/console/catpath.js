// The category of an incident as the path through the configured tree (/api/v1/meta
// "categories"), e.g. 市容环境 › 占道经营: a code alone means nothing to a desk clerk.

/**
 * Names from the root down to `code` in a tree of {code, name, children}; [] if absent.
 *
 * categoryPath([{code: '02', name: '街面秩序', children: [{code: '0201', name: '占道经营'}]}], '0201')
 *   → ['街面秩序', '占道经营']
 */
export function categoryPath(tree, code) {
  if (!code || !Array.isArray(tree)) return [];
  for (const node of tree) {
    if (!node || typeof node !== 'object') continue;
    if (node.code === code) return [String(node.name ?? node.code)];
    const below = categoryPath(node.children, code);
    if (below.length) return [String(node.name ?? node.code), ...below];
  }
  return [];
}

/** The path as one line; an unknown code is shown as it is, marked, rather than hidden. */
export function categoryText(tree, code) {
  if (!code) return '未分类';
  const path = categoryPath(tree, code);
  return path.length ? path.join(' › ') : `未知类别（${code}）`;
}
