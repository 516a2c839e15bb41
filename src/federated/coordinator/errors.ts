// The one error type of the coordinator's API: every refusal carries the HTTP status it maps to, a
// short stable code for programs (NET-API.md) and a message for people that says what and why.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}
