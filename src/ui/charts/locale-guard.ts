// uPlot builds an Intl.NumberFormat from navigator.language when its module loads. Chromium on Linux
// with LANG=C reports 'en-US@posix', which Intl rejects (RangeError), and the whole app would fail
// to start. Imported before uplot: replaces such a tag with its valid part on this page's navigator.
function validTag(tag: string): boolean {
  try {
    return Intl.NumberFormat.supportedLocalesOf([tag]).length > 0 || new Intl.NumberFormat(tag) !== null;
  } catch {
    return false;
  }
}

if (typeof navigator !== 'undefined' && typeof navigator.language === 'string' && !validTag(navigator.language)) {
  const cleaned = navigator.language.split(/[@.]/)[0];
  const language = validTag(cleaned) ? cleaned : 'en-US';
  try {
    Object.defineProperty(navigator, 'language', { value: language, configurable: true });
  } catch {
    // a frozen navigator: nothing to do
  }
}

export {};
