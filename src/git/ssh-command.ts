import type { GitService } from "./pkt-line.ts";

/** What an SSH client may run: one git service on one app's repository. */
export interface SshGitCommand {
  readonly service: GitService;
  readonly app: string;
}

const COMMAND =
  /^(git-receive-pack|git-upload-pack|git receive-pack|git upload-pack) '\/?([a-z0-9][a-z0-9-]{0,62})(?:\.git)?\/?'$/;

/**
 * Parses SSH_ORIGINAL_COMMAND as git sends it (`git-receive-pack '/shop.git'`, or
 * `'shop.git'` for scp-style remotes). Anything else (a shell, other programs, other
 * paths, extra arguments) is undefined: the forced command runs nothing but git.
 */
export function parseSshGitCommand(command: string | undefined): SshGitCommand | undefined {
  const match = COMMAND.exec(command ?? "");
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  const service = match[1].replace(" ", "-") as GitService;
  return { service, app: match[2] };
}

/** The authorized_keys line sshd gets for a registered key: git only, nothing else. */
export function authorizedKeyLine(forcedCommand: string, publicKey: string): string {
  if (forcedCommand.includes('"') || /[\r\n]/.test(forcedCommand + publicKey)) {
    throw new RangeError("forced command or key contains characters authorized_keys cannot hold");
  }
  return `command="${forcedCommand}",restrict ${publicKey}`;
}
