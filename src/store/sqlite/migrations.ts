/** One step of the schema, applied once in a transaction and recorded in schema_version. */
export interface Migration {
  /** 1, 2, 3 ... in the order they are applied; never renumbered once released. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The schema, as an append-only list: a released migration is never edited, a change is a
 * new entry. Timestamps are ISO-8601 UTC strings; lists and maps are JSON text.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "apps, builds, releases, formations, tokens, events",
    sql: `
      CREATE TABLE apps (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      );

      CREATE TABLE builds (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
        source_checksum TEXT NOT NULL,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        error TEXT,
        release_id TEXT REFERENCES releases(id) ON DELETE SET NULL
      );
      CREATE INDEX builds_by_app ON builds(app_id, created_at);

      CREATE TABLE releases (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        version INTEGER NOT NULL CHECK (version > 0),
        image_digest TEXT NOT NULL,
        image_ref TEXT NOT NULL,
        build_id TEXT REFERENCES builds(id) ON DELETE SET NULL,
        process_types TEXT NOT NULL,
        stack TEXT NOT NULL,
        buildpacks TEXT NOT NULL,
        description TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (app_id, version)
      );

      CREATE TABLE formations (
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity >= 0),
        size TEXT NOT NULL,
        PRIMARY KEY (app_id, type)
      );

      CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        hash TEXT NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );

      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        message TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX events_by_app ON events(app_id, id);
    `,
  },
  {
    version: 2,
    name: "app settings",
    sql: `
      CREATE TABLE app_settings (
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (app_id, key)
      );
    `,
  },
  {
    version: 3,
    name: "custom domains and their certificate state",
    sql: `
      CREATE TABLE domains (
        hostname TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        cert_source TEXT NOT NULL CHECK (cert_source IN ('acme', 'manual')),
        cert_status TEXT NOT NULL CHECK (cert_status IN ('pending', 'issued', 'failed')),
        cert_expires_at TEXT,
        cert_error TEXT,
        cert_attempts INTEGER NOT NULL DEFAULT 0,
        cert_retry_at TEXT
      );
      CREATE INDEX domains_by_app ON domains(app_id, hostname);
    `,
  },
  {
    version: 4,
    name: "config versions, release status and provenance",
    sql: `
      CREATE TABLE config_versions (
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        version INTEGER NOT NULL CHECK (version > 0),
        sealed TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (app_id, version)
      );
      ALTER TABLE releases ADD COLUMN status TEXT NOT NULL DEFAULT 'succeeded'
        CHECK (status IN ('pending', 'succeeded', 'failed'));
      ALTER TABLE releases ADD COLUMN status_detail TEXT;
      ALTER TABLE releases ADD COLUMN config_version INTEGER;
      ALTER TABLE releases ADD COLUMN deployed_by TEXT;
      ALTER TABLE releases ADD COLUMN source TEXT;
      ALTER TABLE releases ADD COLUMN manifest TEXT;
      ALTER TABLE builds ADD COLUMN created_by TEXT;
    `,
  },
  {
    version: 5,
    name: "git commit of a build",
    sql: `
      ALTER TABLE builds ADD COLUMN source_commit TEXT;
    `,
  },
  {
    version: 6,
    name: "ssh keys for git over ssh",
    sql: `
      CREATE TABLE ssh_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        fingerprint TEXT NOT NULL UNIQUE,
        public_key TEXT NOT NULL,
        created_by TEXT,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 7,
    name: "crash history of process types",
    sql: `
      CREATE TABLE process_crashes (
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        process_type TEXT NOT NULL,
        count INTEGER NOT NULL CHECK (count >= 0),
        restarts INTEGER NOT NULL CHECK (restarts >= 0),
        last_crash_at INTEGER NOT NULL,
        backoff_until INTEGER NOT NULL,
        PRIMARY KEY (app_id, process_type)
      );
    `,
  },
  {
    version: 8,
    name: "scoped tokens: the apps a token may deploy, and the token that owns a key",
    sql: `
      CREATE TABLE token_apps (
        token_id TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        PRIMARY KEY (token_id, app_id)
      );
      ALTER TABLE tokens ADD COLUMN created_by TEXT;
      ALTER TABLE ssh_keys ADD COLUMN token_id TEXT REFERENCES tokens(id);
    `,
  },
];
