export {
  APPROVALS_CHANNEL,
  type ApprovalListQuery,
  type ApprovalNotifierPort,
  ApprovalService,
  type ApprovalServiceOptions,
  type CommandRequestInput,
  canReview,
  type GrantRequestInput,
  type GrantSettings,
} from "./approval-service.ts";
export {
  type ApprovalKind,
  type ApprovalRequest,
  type ApprovalState,
  approvalsOf,
  commandHash,
  type Requester,
  type Vote,
} from "./model.ts";
export {
  type ApprovalNotice,
  ApprovalNotifier,
  approvalNotice,
  type NotifierTarget,
} from "./notifications.ts";
