// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const sdkImports = {
  patterns: [
    {
      group: [
        "hono",
        "hono/*",
        "@hono/*",
        "node:sqlite",
        "node:http",
        "node:net",
        "node:child_process",
        "node:fs",
        "node:fs/promises",
      ],
      message: "src/domain and controller plans are pure: no SDK, driver or I/O imports.",
    },
  ],
};

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      "buildpacks/**",
      "stacks/**",
      "examples/**",
      "coverage/**",
      ".tmp/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-empty": ["error", { allowEmptyCatch: false }],
    },
  },
  {
    files: [
      "src/domain/**/*.ts",
      "src/controllers/*-plan.ts",
      "src/controllers/route-table.ts",
      "src/router/render.ts",
      "src/router/render-validate.ts",
    ],
    ignores: ["**/*.test.ts"],
    rules: { "no-restricted-imports": ["error", sdkImports] },
  },
  {
    files: ["**/*.test.ts", "**/*.contract.ts", "test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              package: "node:test",
              name: [
                "it",
                "test",
                "describe",
                "suite",
                "before",
                "after",
                "beforeEach",
                "afterEach",
              ],
            },
          ],
        },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { console: "readonly", process: "readonly" },
    },
  },
);
