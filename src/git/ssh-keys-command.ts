/**
 * sshd's AuthorizedKeysCommand: `node ssh-keys-command.ts SOCKET FINGERPRINT`. Prints the
 * authorized_keys line the daemon has for the offered key (with the forced git shell), or
 * nothing, which makes sshd refuse the key. Any failure also prints nothing: fail closed.
 */
import { request } from "node:http";

const [socketPath, fingerprint] = process.argv.slice(2);

if (socketPath !== undefined && fingerprint !== undefined) {
  const query = new URLSearchParams({ fingerprint });
  const req = request(
    { socketPath, path: `/ssh/authorized-keys?${query.toString()}`, host: "slipway-hook" },
    (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        if (res.statusCode === 200) process.stdout.write(body);
      });
    },
  );
  req.setTimeout(10_000, () => req.destroy());
  req.on("error", () => undefined);
  req.end();
}
