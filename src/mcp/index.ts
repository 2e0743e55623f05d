export { MCP_PATH, McpEndpoint, type McpEndpointOptions, RESOURCE_METADATA_PATH } from "./mcp-endpoint.ts";
export {
  type ApprovalLookup,
  DEFAULT_MCP_LIMITS,
  MCP_ENDPOINT_CONNECTION,
  type McpLimits,
} from "./tool-runner.ts";
export { MCP_SERVER_NAME, TOOLS, type ToolName } from "./tools.ts";
