/// @file
/// Deprecated: the configuration moved to kaya/wal/config.h (kaya::wal::WalConfig,
/// BatchConfig, DurabilityMode). This header forwards to it until 0.3. Nothing in kaya
/// includes it.
#pragma once

#include "kaya/wal/config.h"
