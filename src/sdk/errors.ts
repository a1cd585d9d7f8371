/**
 * The errors the SDK throws. Every error is a {@link FlotillaError} with a stable `code`; errors
 * the server sent keep the server's code and message.
 */
export {
  ERROR_CODES,
  FlotillaError,
  InvalidInputError,
  NotFoundError,
  isErrorCode,
  isFlotillaError,
  type ErrorCode,
} from "../domain/errors.js";
