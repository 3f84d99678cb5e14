-- ddlgate guard: event triggers that refuse, in the database itself, DDL the gateway did not
-- approve: table rewrites, table and column drops, renames, and any DDL by roles listed in
-- [guard] no_ddl_roles. Installed and kept by the gateway's control role (a superuser: event
-- triggers need one on PostgreSQL 15). Every name is schema-qualified and every function runs
-- with search_path = pg_catalog, pg_temp, so no session setting changes what it checks.
-- Docs: https://www.postgresql.org/docs/15/event-triggers.html
CREATE SCHEMA IF NOT EXISTS ddlgate_guard;
REVOKE ALL ON SCHEMA ddlgate_guard FROM PUBLIC;
CREATE TABLE IF NOT EXISTS ddlgate_guard.settings (no_ddl_roles name[] NOT NULL);
REVOKE ALL ON ddlgate_guard.settings FROM PUBLIC;
-- The gateway's [[policy.scope]] refusals the database can enforce (guard/scopes.rs): a
-- scope matches when every condition it has holds; empty arrays mean "any".
CREATE TABLE IF NOT EXISTS ddlgate_guard.scopes (
  name text NOT NULL,
  roles name[] NOT NULL,
  except_roles name[] NOT NULL,
  applications text[] NOT NULL,
  clients cidr[] NOT NULL,
  days int4[] NOT NULL,          -- ISO day numbers, Monday 1
  from_minute int4,              -- UTC minutes of the day [from, to), wrapping; NULL: all day
  to_minute int4,
  kinds text[] NOT NULL,         -- 'ddl', 'drop-table', 'drop-column', 'drop-schema', 'rename'
  schemas name[] NOT NULL DEFAULT '{}',   -- where the statement's objects are
  objects text[] NOT NULL DEFAULT '{}');  -- which relations, as schema.name
ALTER TABLE ddlgate_guard.scopes ADD COLUMN IF NOT EXISTS schemas name[] NOT NULL DEFAULT '{}';
ALTER TABLE ddlgate_guard.scopes ADD COLUMN IF NOT EXISTS objects text[] NOT NULL DEFAULT '{}';
REVOKE ALL ON ddlgate_guard.scopes FROM PUBLIC;

-- Was `effect` of the statement this backend runs approved by a gateway? A gateway approves
-- a statement by holding, on a superuser connection, an advisory lock whose 64-bit key is a
-- SHA-256 digest of this backend's pid, the effect and the statement's text (current_query(),
-- the text the client sent). Locks are not MVCC: an approval taken after this transaction's
-- snapshot is still seen.
CREATE OR REPLACE FUNCTION ddlgate_guard.approved(effect text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  key bigint := ('x' OPERATOR(pg_catalog.||) pg_catalog.encode(pg_catalog.substring(
    pg_catalog.sha256(pg_catalog.convert_to(
      pg_catalog.pg_backend_pid()::text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||)
      effect OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) pg_catalog.current_query(),
      'UTF8')), 1, 8), 'hex'))::bit(64)::bigint;
BEGIN
  IF pg_catalog.current_query() IS NULL THEN
    RETURN false;
  END IF;
  PERFORM pg_catalog.pg_stat_clear_snapshot();
  RETURN EXISTS (
    SELECT FROM pg_catalog.pg_locks l
      JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) l.pid
      JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.usesysid
     WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory' AND l.granted AND r.rolsuper
       AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
             WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
       AND l.objsubid OPERATOR(pg_catalog.=) 1
       AND ((l.classid::bigint OPERATOR(pg_catalog.<<) 32)
            OPERATOR(pg_catalog.|) l.objid::bigint) OPERATOR(pg_catalog.=) key);
END $fn$;

-- Was the row version with this xmin written by this transaction (or one of its
-- subtransactions)? Only an xid at or after this transaction's own (age() <= 0, 32-bit modular,
-- never an error) can be; its 64-bit form is then in the past, so pg_xact_status cannot fail
-- with "in the future" on an old row of an earlier epoch.
CREATE OR REPLACE FUNCTION ddlgate_guard.own_xact(x xid) RETURNS boolean
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT CASE
    WHEN pg_catalog.pg_current_xact_id_if_assigned() IS NULL
      OR pg_catalog.age(x) OPERATOR(pg_catalog.>) 0 THEN false
    ELSE pg_catalog.pg_xact_status((
      ((pg_catalog.pg_current_xact_id_if_assigned()::text::bigint OPERATOR(pg_catalog./) 4294967296)
        OPERATOR(pg_catalog.*) 4294967296)
      OPERATOR(pg_catalog.+) x::text::bigint
      OPERATOR(pg_catalog.+) CASE WHEN x::text::bigint OPERATOR(pg_catalog.<)
          (pg_catalog.pg_current_xact_id_if_assigned()::text::bigint OPERATOR(pg_catalog.%) 4294967296)
        THEN 4294967296 ELSE 0 END)::text::xid8) OPERATOR(pg_catalog.=) 'in progress'
  END
$fn$;

-- Was relation `rel` created by this transaction? (Its row type's dependency on it is written
-- once, at creation.) Relations without a row type (indexes) count as not created here.
CREATE OR REPLACE FUNCTION ddlgate_guard.created_here(rel oid) RETURNS boolean
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT coalesce(bool_or(ddlgate_guard.own_xact(d.xmin)), false)
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_depend d
      ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
     AND d.objid OPERATOR(pg_catalog.=) c.reltype AND d.refobjid OPERATOR(pg_catalog.=) c.oid
   WHERE c.oid OPERATOR(pg_catalog.=) rel
$fn$;

-- Was relation `rel` renamed, moved to another schema or given to another owner by this
-- transaction? Those rewrite its row type's catalog row; adding or changing columns does not.
CREATE OR REPLACE FUNCTION ddlgate_guard.renamed_here(rel oid) RETURNS boolean
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT coalesce(bool_or(ddlgate_guard.own_xact(t.xmin)), false)
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) c.reltype
   WHERE c.oid OPERATOR(pg_catalog.=) rel
$fn$;

-- Is relation `rel` one the guard protects: it exists, is not temporary, and was not created
-- by this transaction (a session's own new or temporary relations are its business)?
CREATE OR REPLACE FUNCTION ddlgate_guard.lasting(rel oid) RETURNS boolean
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT EXISTS (SELECT FROM pg_catalog.pg_class r WHERE r.oid OPERATOR(pg_catalog.=) rel
                   AND r.relpersistence OPERATOR(pg_catalog.<>) 't')
     AND NOT ddlgate_guard.created_here(rel)
$fn$;

CREATE OR REPLACE FUNCTION ddlgate_guard.refuse(rule text, what text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  RAISE EXCEPTION USING ERRCODE = '42501',
    MESSAGE = pg_catalog.format('ddlgate guard: %s is not allowed outside the gateway [%s]',
                                what, rule),
    DETAIL = pg_catalog.format('rule %s (docs/guard.md)', rule),
    HINT = 'Send the statement itself through ddlgate, whose policy decides; DDL run by '
        'functions, DO blocks, triggers or direct connections is checked by the guard.';
END $fn$;

-- `who` and every role it is a member of, directly or not, from the membership graph itself
-- (pg_has_role would say yes for every superuser).
CREATE OR REPLACE FUNCTION ddlgate_guard.member_of(who name) RETURNS name[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
  WITH RECURSIVE m(roleid) AS (
    SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) who
    UNION
    SELECT a.roleid FROM pg_catalog.pg_auth_members a
      JOIN m ON a.member OPERATOR(pg_catalog.=) m.roleid)
  SELECT coalesce(pg_catalog.array_agg(r.rolname), '{}')
    FROM m JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.roleid
$fn$;

-- Is the logged-in role, or a role it is a member of, one with no DDL at all?
CREATE OR REPLACE FUNCTION ddlgate_guard.without_ddl() RETURNS boolean
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT EXISTS (SELECT FROM ddlgate_guard.settings s
                  WHERE ddlgate_guard.member_of(SESSION_USER) OPERATOR(pg_catalog.&&) s.no_ddl_roles)
$fn$;

-- `schema.name` of the relation `objid` of catalog `classid` is (an index: its table's);
-- NULL for other objects.
CREATE OR REPLACE FUNCTION ddlgate_guard.relation_name(classid oid, objid oid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) r.relname
    FROM pg_catalog.pg_class c
    LEFT JOIN pg_catalog.pg_index i ON i.indexrelid OPERATOR(pg_catalog.=) c.oid
    JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) coalesce(i.indrelid, c.oid)
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) r.relnamespace
   WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
     AND c.oid OPERATOR(pg_catalog.=) objid
$fn$;

-- The session's current role, as SET ROLE left it: the triggers run SECURITY DEFINER, where
-- CURRENT_USER is the guard's owner, but the `role` setting is the session's.
CREATE OR REPLACE FUNCTION ddlgate_guard.acting_role() RETURNS name
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT CASE pg_catalog.current_setting('role') WHEN 'none' THEN SESSION_USER
              ELSE pg_catalog.current_setting('role')::name END
$fn$;

-- The first scope (by name) that refuses a statement of `kind` now, checked against both
-- session_user's and the acting role's roles (the strictest wins, so SET ROLE only adds
-- limits); NULL when none does. Scopes naming schemas (objects) match when `in_schema`
-- (`in_object`, a relation as schema.name) is one of them; the others when `any_schema`. The role that installed the guard (the gateway's control
-- role, the owner of this schema) is not subject to scopes: it keeps the gateway's own
-- tables.
DROP FUNCTION IF EXISTS ddlgate_guard.refusing_scope(text);
DROP FUNCTION IF EXISTS ddlgate_guard.check_scopes(text, text);
DROP FUNCTION IF EXISTS ddlgate_guard.refusing_scope(text, name, boolean);
DROP FUNCTION IF EXISTS ddlgate_guard.check_scopes(text, name, boolean, text);
CREATE OR REPLACE FUNCTION ddlgate_guard.refusing_scope(kind text, in_schema name, any_schema boolean,
                                                        in_object text DEFAULT NULL)
RETURNS text
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
  WITH who(roles) AS (
    SELECT ddlgate_guard.member_of(SESSION_USER)
    UNION ALL SELECT ddlgate_guard.member_of(ddlgate_guard.acting_role())),
  now_utc(t) AS (SELECT pg_catalog.timezone('UTC', pg_catalog.clock_timestamp())),
  minute(m) AS (SELECT (pg_catalog.date_part('hour', t) OPERATOR(pg_catalog.*) 60
                        OPERATOR(pg_catalog.+) pg_catalog.date_part('minute', t))::pg_catalog.int4
                  FROM now_utc)
  SELECT s.name FROM ddlgate_guard.scopes s, who w, now_utc n, minute mn
   WHERE SESSION_USER OPERATOR(pg_catalog.<>) (SELECT o.rolname FROM pg_catalog.pg_namespace ns
           JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) ns.nspowner
          WHERE ns.nspname OPERATOR(pg_catalog.=) 'ddlgate_guard')
     AND (s.kinds OPERATOR(pg_catalog.=) '{}' OR 'ddl' OPERATOR(pg_catalog.=) ANY (s.kinds)
          OR kind OPERATOR(pg_catalog.=) ANY (s.kinds))
     AND CASE WHEN s.schemas OPERATOR(pg_catalog.=) '{}' AND s.objects OPERATOR(pg_catalog.=) '{}'
              THEN any_schema
              ELSE (s.schemas OPERATOR(pg_catalog.=) '{}'
                    OR coalesce(in_schema OPERATOR(pg_catalog.=) ANY (s.schemas), false))
               AND (s.objects OPERATOR(pg_catalog.=) '{}'
                    OR coalesce(in_object OPERATOR(pg_catalog.=) ANY (s.objects), false)) END
     AND (s.roles OPERATOR(pg_catalog.=) '{}' OR s.roles OPERATOR(pg_catalog.&&) w.roles)
     AND NOT s.except_roles OPERATOR(pg_catalog.&&) w.roles
     AND (s.applications OPERATOR(pg_catalog.=) '{}'
          OR pg_catalog.current_setting('application_name') OPERATOR(pg_catalog.=) ANY (s.applications))
     AND (s.clients OPERATOR(pg_catalog.=) '{}'
          OR pg_catalog.inet_client_addr() OPERATOR(pg_catalog.<<=) ANY (s.clients::pg_catalog.inet[]))
     AND (s.days OPERATOR(pg_catalog.=) '{}'
          OR pg_catalog.date_part('isodow', n.t)::pg_catalog.int4 OPERATOR(pg_catalog.=) ANY (s.days))
     AND (s.from_minute IS NULL
          OR (s.from_minute OPERATOR(pg_catalog.<=) s.to_minute
              AND mn.m OPERATOR(pg_catalog.>=) s.from_minute AND mn.m OPERATOR(pg_catalog.<) s.to_minute)
          OR (s.from_minute OPERATOR(pg_catalog.>) s.to_minute
              AND (mn.m OPERATOR(pg_catalog.>=) s.from_minute OR mn.m OPERATOR(pg_catalog.<) s.to_minute)))
   ORDER BY s.name LIMIT 1
$fn$;

-- Refuses `what` when a scope refuses a statement of `kind` (on an object in `in_schema`,
-- for scopes naming schemas; scopes that do not when `any_schema`) and no gateway approved
-- it (the gateway decided the scopes of every text it lets through).
CREATE OR REPLACE FUNCTION ddlgate_guard.check_scopes(kind text, in_schema name, any_schema boolean,
                                                      what text, in_object text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  scope text := ddlgate_guard.refusing_scope(kind, in_schema, any_schema, in_object);
BEGIN
  IF scope IS NOT NULL AND NOT ddlgate_guard.approved('scope') THEN
    RAISE EXCEPTION USING ERRCODE = '42501',
      MESSAGE = pg_catalog.format('ddlgate guard: %s is not allowed for role "%s" here [policy scope "%s"]',
                                  what, ddlgate_guard.acting_role(), scope),
      DETAIL = pg_catalog.format('session_user "%s", current_user "%s": the gateway''s [[policy.scope]] "%s" '
                                 'refuses it in the database too (docs/guard.md)',
                                 SESSION_USER, ddlgate_guard.acting_role(), scope),
      HINT = 'Run it as a role the policy allows, through ddlgate (where approvals are requested).';
  END IF;
END $fn$;

CREATE OR REPLACE FUNCTION ddlgate_guard.on_ddl_command_start() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF ddlgate_guard.without_ddl() AND NOT ddlgate_guard.approved('ddl') THEN
    PERFORM ddlgate_guard.refuse('guard-no-ddl',
      pg_catalog.format('%s by role %s', tg_tag, SESSION_USER));
  END IF;
  PERFORM ddlgate_guard.check_scopes(
    CASE tg_tag WHEN 'DROP SCHEMA' THEN 'drop-schema' ELSE 'ddl' END, NULL, true, tg_tag);
END $fn$;

CREATE OR REPLACE FUNCTION ddlgate_guard.on_ddl_command_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  c record;
BEGIN
  -- Scopes naming schemas or objects: where each command's object is (a schema: itself; an
  -- index: its table).
  FOR c IN SELECT * FROM pg_catalog.pg_event_trigger_ddl_commands() LOOP
    CONTINUE WHEN c.in_extension;
    PERFORM ddlgate_guard.check_scopes('ddl',
      coalesce(c.schema_name, CASE WHEN c.object_type OPERATOR(pg_catalog.=) 'schema' THEN
        (SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.oid OPERATOR(pg_catalog.=) c.objid) END),
      false, pg_catalog.format('%s %s', c.command_tag, c.object_identity),
      ddlgate_guard.relation_name(c.classid, c.objid));
  END LOOP;
  FOR c IN SELECT * FROM pg_catalog.pg_event_trigger_ddl_commands() LOOP
    CONTINUE WHEN c.in_extension
      OR c.classid OPERATOR(pg_catalog.<>) 'pg_catalog.pg_class'::pg_catalog.regclass
      OR c.command_tag NOT LIKE 'ALTER %'
      OR NOT ddlgate_guard.lasting(c.objid);
    IF c.objsubid OPERATOR(pg_catalog.<>) 0 OR ddlgate_guard.renamed_here(c.objid) THEN
      PERFORM ddlgate_guard.check_scopes('rename', c.schema_name, true,
        pg_catalog.format('renaming %s %s', c.object_type, c.object_identity),
        ddlgate_guard.relation_name(c.classid, c.objid));
    END IF;
    -- An ALTER reports a column of a relation only for RENAME COLUMN / RENAME ATTRIBUTE.
    IF c.objsubid OPERATOR(pg_catalog.<>) 0 AND NOT ddlgate_guard.approved('rename') THEN
      PERFORM ddlgate_guard.refuse('guard-rename',
        pg_catalog.format('renaming %s %s', c.object_type, c.object_identity));
    END IF;
    IF c.objsubid OPERATOR(pg_catalog.=) 0 AND ddlgate_guard.renamed_here(c.objid)
       AND NOT ddlgate_guard.approved('rename') THEN
      PERFORM ddlgate_guard.refuse('guard-rename',
        pg_catalog.format('renaming, moving or giving away %s %s', c.object_type,
                          c.object_identity));
    END IF;
  END LOOP;
END $fn$;

CREATE OR REPLACE FUNCTION ddlgate_guard.on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  o record;
  rel text;
BEGIN
  FOR o IN SELECT * FROM pg_catalog.pg_event_trigger_dropped_objects() LOOP
    CONTINUE WHEN o.is_temporary;
    -- Scopes naming schemas: where the dropped object was (a schema: itself).
    -- A dropped relation, or the table of a dropped column, as schema.name.
    rel := CASE WHEN o.object_type IN ('table', 'view', 'materialized view', 'foreign table',
                                       'sequence', 'table column')
                THEN o.address_names[1] OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) o.address_names[2] END;
    PERFORM ddlgate_guard.check_scopes(
      CASE o.object_type WHEN 'schema' THEN 'drop-schema' ELSE 'ddl' END,
      coalesce(o.schema_name, CASE o.object_type WHEN 'schema' THEN o.object_name END)::name,
      false, pg_catalog.format('dropping %s %s', o.object_type, o.object_identity), rel);
    IF o.object_type IN ('table', 'table column') THEN
      PERFORM ddlgate_guard.check_scopes(
        CASE o.object_type WHEN 'table' THEN 'drop-table' ELSE 'drop-column' END,
        o.schema_name, true,
        pg_catalog.format('dropping %s %s', o.object_type, o.object_identity), rel);
    END IF;
    CONTINUE WHEN o.object_type NOT IN ('table', 'table column', 'materialized view', 'foreign table');
    IF NOT ddlgate_guard.approved(CASE o.object_type WHEN 'table column' THEN 'drop-column'
                                                     ELSE 'drop' END) THEN
      PERFORM ddlgate_guard.refuse('guard-drop',
        pg_catalog.format('dropping %s %s', o.object_type, o.object_identity));
    END IF;
  END LOOP;
END $fn$;

CREATE OR REPLACE FUNCTION ddlgate_guard.on_table_rewrite() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel oid := pg_catalog.pg_event_trigger_table_rewrite_oid();
BEGIN
  IF ddlgate_guard.lasting(rel) AND NOT ddlgate_guard.approved('rewrite') THEN
    PERFORM ddlgate_guard.refuse('guard-rewrite',
      pg_catalog.format('rewriting table %s', rel::pg_catalog.regclass));
  END IF;
END $fn$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ddlgate_guard FROM PUBLIC;
