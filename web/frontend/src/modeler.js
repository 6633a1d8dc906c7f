// The qihu modeler bundle: bpmn-js Modeler + properties panel (BPMN and Camunda 7 tabs) +
// the camunda moddle extension, built by build.sh into one IIFE: window.QihuModeler.
// The page script (web/static/modeler.js) does the rest (load, lint, deploy, download).
import Modeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule
} from 'bpmn-js-properties-panel';
// Keeps camunda:* extension elements consistent while editing (as the Camunda 7 Modeler does).
import CamundaPlatformBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import { translateModule } from './translate';

/**
 * A Modeler drawing into `container` with its properties panel in `propertiesParent`, its
 * palette, menus and panel in `lang` ('zh-CN', the default, or 'en'; see translate.js).
 * Keyboard shortcuts work while the canvas has the focus (bpmn-js 18 binds to the canvas).
 */
export function create({ container, propertiesParent, lang = 'zh-CN' }) {
  const translate = translateModule(lang);
  return new Modeler({
    container,
    keyboard: { bind: true },
    propertiesPanel: { parent: propertiesParent },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      CamundaPlatformBehaviorsModule,
      ...(translate ? [translate] : [])
    ],
    moddleExtensions: { camunda: camundaModdle }
  });
}

// eslint-disable-next-line no-undef
export const versions = __QIHU_VERSIONS__;
