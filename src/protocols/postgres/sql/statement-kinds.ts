/**
 * Maps PostgreSQL parse-tree statement nodes to the lower-case kinds policy sees. Every
 * statement node of PostgreSQL 18 is listed, so "unknown" only appears for a node type added by
 * a newer parser, and that is treated as not understood.
 */

import type { Obj } from "./parse-tree.ts";

const KINDS: ReadonlyMap<string, string> = new Map([
  ["SelectStmt", "select"],
  ["SetOperationStmt", "select"],
  ["ReturnStmt", "select"],
  ["PLAssignStmt", "select"],
  ["InsertStmt", "insert"],
  ["UpdateStmt", "update"],
  ["DeleteStmt", "delete"],
  ["MergeStmt", "merge"],
  ["TruncateStmt", "truncate"],
  ["CopyStmt", "copy"],
  ["DoStmt", "do"],
  ["CallStmt", "call"],
  ["ExplainStmt", "explain"],
  ["PrepareStmt", "prepare"],
  ["ExecuteStmt", "execute"],
  ["DeallocateStmt", "deallocate"],
  ["TransactionStmt", "transaction"],
  ["VariableSetStmt", "set"],
  ["ConstraintsSetStmt", "set"],
  ["VariableShowStmt", "show"],
  ["DiscardStmt", "discard"],
  ["GrantStmt", "grant"],
  ["GrantRoleStmt", "grant"],
  ["DeclareCursorStmt", "declare_cursor"],
  ["FetchStmt", "fetch"],
  ["ClosePortalStmt", "close_cursor"],
  ["ListenStmt", "listen"],
  ["NotifyStmt", "notify"],
  ["UnlistenStmt", "unlisten"],
  ["LockStmt", "lock"],
  ["VacuumStmt", "vacuum"],
  ["CommentStmt", "comment"],
  ["SecLabelStmt", "security_label"],
  ["ReindexStmt", "reindex"],
  ["ClusterStmt", "cluster"],
  ["CheckPointStmt", "checkpoint"],
  ["LoadStmt", "load"],
  ["RefreshMatViewStmt", "refresh_materialized_view"],
  ["RuleStmt", "create_rule"],
  ["CreateExtensionStmt", "create_extension"],
  ["CreateFunctionStmt", "create_function"],
  ["CreateTrigStmt", "create_trigger"],
  ["CreateEventTrigStmt", "create_trigger"],
  ["CreateRoleStmt", "create_role"],
  ["AlterRoleStmt", "alter_role"],
  ["AlterRoleSetStmt", "alter_role"],
  ["AlterSystemStmt", "alter_system"],
  ...[
    "CreateSchemaStmt",
    "CreateStmt",
    "CreateTableAsStmt",
    "CreateTableSpaceStmt",
    "CreateFdwStmt",
    "CreateForeignServerStmt",
    "CreateForeignTableStmt",
    "CreateUserMappingStmt",
    "ImportForeignSchemaStmt",
    "CreatePolicyStmt",
    "CreateAmStmt",
    "CreatePLangStmt",
    "CreateSeqStmt",
    "DefineStmt",
    "CreateDomainStmt",
    "CreateOpClassStmt",
    "CreateOpFamilyStmt",
    "IndexStmt",
    "CreateStatsStmt",
    "CompositeTypeStmt",
    "CreateEnumStmt",
    "CreateRangeStmt",
    "ViewStmt",
    "CreatedbStmt",
    "CreateConversionStmt",
    "CreateCastStmt",
    "CreateTransformStmt",
    "CreatePublicationStmt",
    "CreateSubscriptionStmt",
  ].map((t): [string, string] => [t, "create"]),
  ...[
    "AlterTableStmt",
    "AlterTableMoveAllStmt",
    "AlterTableSpaceOptionsStmt",
    "ReplicaIdentityStmt",
    "AlterCollationStmt",
    "AlterDomainStmt",
    "AlterDefaultPrivilegesStmt",
    "AlterExtensionStmt",
    "AlterExtensionContentsStmt",
    "AlterFdwStmt",
    "AlterForeignServerStmt",
    "AlterUserMappingStmt",
    "AlterPolicyStmt",
    "AlterEventTrigStmt",
    "AlterSeqStmt",
    "AlterOpFamilyStmt",
    "AlterStatsStmt",
    "AlterFunctionStmt",
    "AlterObjectDependsStmt",
    "AlterObjectSchemaStmt",
    "AlterOwnerStmt",
    "AlterOperatorStmt",
    "AlterTypeStmt",
    "AlterEnumStmt",
    "AlterDatabaseStmt",
    "AlterDatabaseRefreshCollStmt",
    "AlterDatabaseSetStmt",
    "AlterPublicationStmt",
    "AlterSubscriptionStmt",
    "AlterTSDictionaryStmt",
    "AlterTSConfigurationStmt",
    "RenameStmt",
    "ReassignOwnedStmt",
  ].map((t): [string, string] => [t, "alter"]),
  ...[
    "DropStmt",
    "DropTableSpaceStmt",
    "DropUserMappingStmt",
    "DropRoleStmt",
    "DropdbStmt",
    "DropSubscriptionStmt",
    "DropOwnedStmt",
  ].map((t): [string, string] => [t, "drop"]),
]);

/** Settings whose change switches the effective user. */
export const ROLE_SETTINGS: ReadonlySet<string> = new Set(["role", "session_authorization"]);

/** Whether a parse-tree node type is a statement (known or not). */
export function isStatementType(type: string): boolean {
  return KINDS.has(type) || type.endsWith("Stmt");
}

/** The kind of one statement node; "unknown" for node types this analyser does not know. */
export function statementKind(type: string, node: Obj): string {
  switch (type) {
    case "SelectStmt":
      return node.intoClause === undefined ? "select" : "select_into";
    case "CreateTableAsStmt":
      return node.is_select_into === true ? "select_into" : "create";
    case "VariableSetStmt": {
      const name = typeof node.name === "string" ? node.name.toLowerCase() : "";
      // RESET ROLE and SET SESSION AUTHORIZATION DEFAULT change the effective user too.
      if (ROLE_SETTINGS.has(name)) return "set_role";
      return node.kind === "VAR_RESET" || node.kind === "VAR_RESET_ALL" ? "reset" : "set";
    }
    case "GrantStmt":
    case "GrantRoleStmt":
      return node.is_grant === true ? "grant" : "revoke";
    case "VacuumStmt":
      return node.is_vacuumcmd === true ? "vacuum" : "analyze";
    default:
      return KINDS.get(type) ?? "unknown";
  }
}
