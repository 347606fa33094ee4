import { buildDashboardPage, type DashboardPage } from './dashboard-page.js';

/**
 * What `#dashboard-page` resolves to where nothing aliases it (package.json `imports`): the page
 * built when this module loads, from the current sources. Typechecking, tests and the local stack
 * take this path; a deployed bundle gets the JSON the stack wrote at synth (no esbuild in Lambda).
 */
const page: DashboardPage = buildDashboardPage();

export default page;
