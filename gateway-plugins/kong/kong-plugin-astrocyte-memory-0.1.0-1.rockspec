-- luarocks make kong/kong-plugin-astrocyte-memory-0.1.0-1.rockspec   (run from gateway-plugins/)
package = "kong-plugin-astrocyte-memory"
version = "0.1.0-1"
source = { url = "git+https://example.invalid/astrocyte.git" }
description = {
  summary = "Astrocyte memory for OpenAI-compatible /chat/completions routes in Kong.",
  license = "Apache-2.0",
}
dependencies = { "lua >= 5.1" }
build = {
  type = "builtin",
  modules = {
    ["astrocyte_memory_core"] = "lua/astrocyte_memory_core.lua",
    ["kong.plugins.astrocyte-memory.handler"] = "kong/kong/plugins/astrocyte-memory/handler.lua",
    ["kong.plugins.astrocyte-memory.schema"] = "kong/kong/plugins/astrocyte-memory/schema.lua",
  },
}
