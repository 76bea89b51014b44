// Location that guides instead of blocking: what the browser allows, and how a
// volunteer turns it on, in plain words for the browser they are actually using.
// No screen waits on a fix: the report form offers the map picker instead.

/** 'granted' | 'denied' | 'prompt' | 'unknown' (Permissions API missing, e.g. old WebViews). */
export async function permissionState() {
  try {
    if (!navigator.permissions || !navigator.permissions.query) return 'unknown';
    const s = await navigator.permissions.query({ name: 'geolocation' });
    return s.state || 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Which browser the steps are for. WeChat and Huawei embed Chromium, so they are
 * checked before Chrome; iOS browsers all use Safari's settings.
 *
 * >>> browserKind('Mozilla/5.0 (Linux; Android 12) MicroMessenger/8.0.40')  // 'wechat'
 */
export function browserKind(ua = (globalThis.navigator && navigator.userAgent) || '') {
  if (/MicroMessenger/i.test(ua)) return 'wechat';
  if (/HuaweiBrowser|HUAWEI|HONOR|HarmonyOS/i.test(ua)) return 'huawei';
  if (/iPhone|iPad|iPod/i.test(ua) || (/Safari/i.test(ua) && !/Chrome|Chromium|Android/i.test(ua))) return 'safari';
  if (/Chrome|Chromium|Android/i.test(ua)) return 'chrome';
  return 'other';
}

const STEPS = {
  wechat: ['点右上角“…”', '选“设置”或“权限”', '打开“位置信息”，再回来点“重新定位”',
    '如果还不行：打开手机“设置 → 应用 → 微信 → 权限”，允许“位置信息”'],
  huawei: ['点地址栏右边的“⋮”或底部“菜单”', '选“设置 → 网站设置 → 位置信息”', '找到本网站，选“允许”',
    '再回来点“重新定位”'],
  safari: ['打开手机“设置”', '找到“隐私与安全性 → 定位服务”，确认已打开', '在同一页找到“Safari 浏览器网站”，选“使用 App 期间”',
    '回到这里，点地址栏左边的“大小”→“网站设置”→“位置”选“允许”'],
  chrome: ['点地址栏左边的小锁（或“ⓘ”）图标', '点“权限”或“网站设置”', '把“位置信息”改成“允许”',
    '再回来点“重新定位”'],
  other: ['打开浏览器的“设置 → 网站设置（或隐私）→ 位置信息”', '给本网站选“允许”', '再回来点“重新定位”'],
};
export const BROWSER_NAMES = { wechat: '微信', huawei: '华为浏览器', safari: 'Safari（苹果手机）', chrome: 'Chrome / 安卓浏览器', other: '浏览器' };

/** Plain steps to allow location in this browser. */
export function permissionSteps(kind = browserKind()) {
  return STEPS[kind] || STEPS.other;
}

/**
 * What to tell the user after a failed fix. A refused permission is never
 * "go outside and retry": walking somewhere else cannot fix a setting.
 */
export function failureAdvice(reason) {
  if (reason === 'denied') {
    return { title: '定位权限已关闭', text: '手机没有允许本网页使用位置。可以按下面的步骤打开；不打开也能上报：请在地图上点选位置。' };
  }
  if (reason === 'unsupported') {
    return { title: '本机不能定位', text: '请在地图上点选位置。' };
  }
  return { title: '暂时没有定位信号', text: '室内或高楼间常常收不到信号。可以靠近窗边再点“重新定位”，也可以直接在地图上点选位置。' };
}
