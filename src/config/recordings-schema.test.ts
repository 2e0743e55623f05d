import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "./config-error.ts";
import { parseConfig } from "./load-config.ts";

const parse = (text: string) => parseConfig(text, "sluice.yaml", "/etc/sluice", { env: {} });

async function messageOf(text: string): Promise<string> {
  try {
    await parse(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail("expected the configuration to be rejected");
}

describe("recordings configuration", () => {
  it("defaults to recording into ./data/recordings beside the configuration", async () => {
    const config = await parse("");
    assert.deepEqual(config.recordings, {
      enabled: true,
      storage: "files",
      dir: "/etc/sluice/data/recordings",
      maxBytesPerSession: 64 * 1024 ** 2,
      maxRowsPerStatement: 100,
      fsync: false,
    });
    assert.ok(Object.isFrozen(config.recordings));
  });

  it("reads every key, sizes with units and relative or absolute directories", async () => {
    const config = await parse(
      "recordings:\n  enabled: false\n  dir: ./rec\n  max_bytes_per_session: 1GiB\n  max_rows_per_statement: 0\n  fsync: true\n",
    );
    assert.deepEqual(config.recordings, {
      enabled: false,
      storage: "files",
      dir: "/etc/sluice/rec",
      maxBytesPerSession: 1024 ** 3,
      maxRowsPerStatement: 0,
      fsync: true,
    });
    assert.equal(
      (await parse("recordings: { dir: /var/lib/sluice/rec }\n")).recordings.dir,
      "/var/lib/sluice/rec",
    );
  });

  it("names file, line, column and key of every problem", async () => {
    const message = await messageOf(
      [
        "recordings:",
        "  enabled: yes please",
        "  dir: ''",
        "  max_bytes_per_session: 1KiB",
        "  max_rows_per_statement: 2.5",
        "  speed: fast",
        "",
      ].join("\n"),
    );
    assert.equal(
      message,
      [
        "sluice.yaml:2:3: recordings.enabled: expected true or false",
        "sluice.yaml:3:3: recordings.dir: expected a directory path",
        "sluice.yaml:4:3: recordings.max_bytes_per_session: expected a size between 64KiB and 64GiB, e.g. 64MiB or 1GiB",
        "sluice.yaml:5:3: recordings.max_rows_per_statement: expected a whole number between 0 and 1000000",
        "sluice.yaml:6:3: recordings.speed: unknown key",
      ].join("\n"),
    );
    assert.match(
      await messageOf("recordings: { max_rows_per_statement: -1 }\n"),
      /sluice\.yaml:1:15: recordings\.max_rows_per_statement: expected a whole number/,
    );
  });

  it("keeps recordings in the PostgreSQL store with storage: store", async () => {
    const config = await parse(
      "store: postgres://sluice@db.internal:5432/sluice\nrecordings:\n  storage: store\n",
    );
    assert.equal(config.recordings.storage, "store");
    assert.equal((await parse("recordings: { storage: files }\n")).recordings.storage, "files");
  });

  it("refuses storage: store without a PostgreSQL store, and unknown storages, naming the key", async () => {
    assert.equal(
      await messageOf("recordings:\n  storage: store\n"),
      "sluice.yaml:2:3: recordings.storage: recordings in the store need store: postgres://<host>/<database> (the configured store is SQLite); use storage: files to keep them in recordings.dir",
    );
    assert.equal(
      await messageOf("store: sqlite:./x.db\nrecordings: { storage: store }\n"),
      "sluice.yaml:2:15: recordings.storage: recordings in the store need store: postgres://<host>/<database> (the configured store is SQLite); use storage: files to keep them in recordings.dir",
    );
    assert.equal(
      await messageOf("recordings: { storage: s3 }\n"),
      "sluice.yaml:1:15: recordings.storage: expected files or store",
    );
  });
});
