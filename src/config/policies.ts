/**
 * Policy settings as LiteLLM writes them (router_settings `retry_policy`, `allowed_fails_policy`,
 * `cooldown_time`): the shapes and defaults the loader validates. What the router does with
 * them is in router/policy.ts.
 */
/**
 * LiteLLM's `RetryPolicy` (types/router.py): retries per exception type, overriding
 * `num_retries`. `NotFoundErrorRetries` exists in newer LiteLLM releases; we accept it too.
 */
export interface RetryPolicy {
  readonly BadRequestErrorRetries?: number;
  readonly AuthenticationErrorRetries?: number;
  readonly TimeoutErrorRetries?: number;
  readonly RateLimitErrorRetries?: number;
  readonly ContentPolicyViolationErrorRetries?: number;
  readonly InternalServerErrorRetries?: number;
  readonly NotFoundErrorRetries?: number;
}

export const retryPolicyKeys: readonly (keyof RetryPolicy)[] = [
  'BadRequestErrorRetries', 'AuthenticationErrorRetries', 'TimeoutErrorRetries', 'RateLimitErrorRetries',
  'ContentPolicyViolationErrorRetries', 'InternalServerErrorRetries', 'NotFoundErrorRetries',
];

/** LiteLLM's `DEFAULT_COOLDOWN_TIME_SECONDS`. */
export const DEFAULT_COOLDOWN_MS = 5000;
/** LiteLLM's `AllowedFailsPolicy` (types/router.py): failures tolerated per exception type. */
export interface AllowedFailsPolicy {
  readonly BadRequestErrorAllowedFails?: number;
  readonly AuthenticationErrorAllowedFails?: number;
  readonly TimeoutErrorAllowedFails?: number;
  readonly RateLimitErrorAllowedFails?: number;
  readonly ContentPolicyViolationErrorAllowedFails?: number;
  readonly InternalServerErrorAllowedFails?: number;
}

export const allowedFailsPolicyKeys: readonly (keyof AllowedFailsPolicy)[] = [
  'BadRequestErrorAllowedFails', 'AuthenticationErrorAllowedFails', 'TimeoutErrorAllowedFails',
  'RateLimitErrorAllowedFails', 'ContentPolicyViolationErrorAllowedFails', 'InternalServerErrorAllowedFails',
];

