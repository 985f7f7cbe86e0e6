/**
 * The version of the JSON-lines protocol between the ExecuTorch engine and its host
 * (docs/executorch-host.md). Its own module so the native host imports nothing else:
 * every import is paid at each host start.
 */
export const HOST_PROTOCOL_VERSION = 1;
