/* Preloaded (node --require) into @teambit/legacy 1.0.160 by protocol.sh: that release names
 * issue classes which the @teambit/component-issues release on the registry spells differently
 * or lacks, so loading a component that requires another fails with "IssueClass is not a
 * constructor". Alias or stub them. BIT_BIN_DIR is set by the `bit` wrapper of e2e.sh. */
let issues;
try {
  issues = require(require.resolve('@teambit/component-issues', { paths: [process.env.BIT_BIN_DIR || '.'] }));
} catch (e) {
  issues = undefined;
}
if (issues && issues.IssuesClasses && issues.ComponentIssue) {
  const C = issues.IssuesClasses;
  if (!C.relativeComponents && C.RelativeComponents) C.relativeComponents = C.RelativeComponents;
  if (!C.relativeComponentsAuthored && C.RelativeComponentsAuthored) C.relativeComponentsAuthored = C.RelativeComponentsAuthored;
  ['MissingComponents', 'MissingLinks', 'CustomModuleResolutionUsed', 'MissingCustomModuleResolutionLinks'].forEach((name) => {
    if (C[name]) return;
    C[name] = { [name]: class extends issues.ComponentIssue {
      constructor() { super(); this.description = name; this.data = {}; }
    } }[name];
  });
}
