/**
 * ESO renders its webhook templates (url, headers, body, result.jsonPath) and ExternalSecret target templates
 * with Go's text/template; these tests render them with the project's interpreter (src/shared/gotemplate).
 *
 * ESO's data is map[string]map[string]string, so Go semantics the shipped templates rely on hold here: a missing map
 * key prints `<no value>` and is false in `with`/`if`; `index` with a missing key argument is an error.
 */
import { Template } from '../../src/shared/gotemplate/index.js';

/** Renders like Go's template.Execute with ESO's data (map of maps of strings). */
export function renderGoTemplate(template: string, data: Record<string, unknown>): string {
  return Template.parse('template', template).executeSync(data);
}
