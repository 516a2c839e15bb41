// Node module hooks that let the benchmark load @tensorflow/tfjs-core's gradient registrations.
// tfjs-core's Node build does not register gradients (the @tensorflow/tfjs union package bundles
// them, but it is not a dependency here); its dist/ holds them as ES modules with extensionless
// relative imports in a package not marked "type": "module". These hooks add the extension and
// load those files as ES modules. The registrations land in tfjs's global gradient registry and
// its ops run on the global engine, so they serve the Node build that the benchmark uses.
import type { LoadHook, ResolveHook } from "node:module";

const DIST = "/@tensorflow/tfjs-core/dist/";

export const resolve: ResolveHook = async (specifier, context, next) => {
  if (context.parentURL?.includes(DIST) && specifier.startsWith(".") && !specifier.endsWith(".js")) {
    try {
      return await next(specifier + ".js", context);
    } catch {
      return next(specifier + "/index.js", context);
    }
  }
  return next(specifier, context);
};

export const load: LoadHook = async (url, context, next) => {
  if (url.includes(DIST) && url.endsWith(".js") && !url.endsWith(".node.js")) return next(url, { ...context, format: "module" });
  return next(url, context);
};
