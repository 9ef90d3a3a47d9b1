/**
 * The stack cache every test on this machine shares (integration tests here and the e2e
 * harness): stacks are keyed by recipe digest, so one cold build (~75 s) serves all test
 * runs after it, and each test only imports the tarballs into its own engine.
 */
export const TEST_STACK_CACHE = "/var/cache/slipway/stacks";
