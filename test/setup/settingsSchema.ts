// The bin loads the settings schema (zod, yaml) only when a command needs it; tests read
// settings files in-process, so they load it up front.
import '../../src/core/settingsSchema';
