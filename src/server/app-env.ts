// Hono context variables shared by every route.
import type { Principal } from "../services/principal.js";
import type { ServiceDeps } from "../services/service-deps.js";

export interface AppEnv {
  Variables: { principal: Principal; deps: ServiceDeps };
}
