import { request } from "node:http";

/** GET http://address:port/ from the host: the body, or undefined when unreachable. */
export function httpGet(
  address: string,
  port: number,
  timeoutMs = 1000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: address, port, path: "/", timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve(body);
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => {
      resolve(undefined);
    });
    req.end();
  });
}
