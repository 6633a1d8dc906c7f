// The modeler's `translate` service (replaces diagram-js's, as bpmn-js-examples/i18n does):
// translate(template, replacements) looks the English template up in the language's
// dictionary, then fills in {placeholders}. English needs no module: diagram-js's own service
// returns the templates as they are.
import zhCN from './zh-cn';

const DICTIONARIES = { 'zh-CN': zhCN };

export const LANGUAGES = ['zh-CN', 'en'];

/**
 * The additional module that makes the modeler speak `lang` ('zh-CN' or 'en'), or null for
 * English. The service keeps the templates it had no text for in `translate.missing` (a Set),
 * so a test can show what a designer would still see in English.
 */
export function translateModule(lang) {
  if (!LANGUAGES.includes(lang)) {
    throw new Error(`unknown modeler language ${JSON.stringify(lang)} (one of ${LANGUAGES.join(', ')})`);
  }
  const dictionary = DICTIONARIES[lang];
  if (!dictionary) return null;
  const missing = new Set();
  function translate(template, replacements) {
    let text = dictionary[template];
    if (text === undefined) {
      missing.add(template);
      text = template;
    }
    const values = replacements || {};
    return text.replace(/{([^}]+)}/g, (whole, key) => (key in values ? String(values[key]) : whole));
  }
  translate.missing = missing;
  return { translate: ['value', translate] };
}
