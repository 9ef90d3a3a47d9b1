import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriverError } from "../../domain/errors.ts";
import { builtImageId } from "./docker-images.ts";

const id = "9bac52e534b5fc0478ae6508fa1ae03fa0ffac6b2951e67f9f503b1f6a98104c";

describe("builtImageId", () => {
  it("reads the id from the aux message or the final stream line", () => {
    assert.equal(
      builtImageId(`{"stream":"STEP 1/3: FROM x\\n"}\n{"aux":{"ID":"sha256:${id}"}}\n`),
      `sha256:${id}`,
    );
    assert.equal(builtImageId(`{"stream":"Successfully built ${id}\\n"}\n`), `sha256:${id}`);
  });

  it("turns an error message or a missing id into a DriverError", () => {
    assert.throws(() => builtImageId(`{"error":"COPY failed"}\n`), DriverError);
    assert.throws(
      () => builtImageId(`{"stream":"Successfully built 9bac52e534b5\\n"}\n`),
      DriverError,
    );
  });
});

describe("builtImageId output", () => {
  it("hands whole lines to log and puts a failed step's last output into the error", () => {
    const lines: string[] = [];
    const progress = [
      `{"stream":"STEP 1/2: RUN ls /x\\n"}`,
      `{"stream":"ls: "}`,
      `{"stream":"cannot access '/x'"}`,
      `{"stream":": No such file or directory\\n"}`,
      `{"error":"building at STEP \\"RUN ls /x\\": while running runtime: exit status 2\\n"}`,
    ].join("\n");
    assert.throws(
      () => builtImageId(progress, (line) => lines.push(line)),
      (error: unknown) =>
        error instanceof DriverError &&
        error.message.includes("exit status 2") &&
        error.message.includes("ls: cannot access '/x': No such file or directory"),
    );
    assert.deepEqual(lines, [
      "STEP 1/2: RUN ls /x",
      "ls: cannot access '/x': No such file or directory",
    ]);
  });
});
