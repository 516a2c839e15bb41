// The data layer: KuaiSAR-style folders and the synthetic default in, a validated in-memory dataset
// and model-ready windows out. Depends on nothing above src/util.
export { DataError } from "./error.js";
export { tableOf, type Column, type ColumnKind, type ColumnSpec, type FieldList, type Table } from "./table.js";
export { formatCsv, parseCsv } from "./csv.js";
export { formatFieldList, parseFieldList } from "./field-list.js";
export {
  buildDataset,
  featureColumns,
  INTERACTION_COLUMNS,
  ITEM_ID,
  LABEL,
  MIN_INTERACTIONS,
  TIMESTAMP,
  USER_ID,
  type Dataset,
  type Field,
  type LoadReport,
  type RawData,
} from "./dataset.js";
export {
  INTERACTIONS_FILE,
  ITEM_FIELDS_SUFFIX,
  ITEMS_FILE,
  readFolder,
  readFolderSchema,
  readRawFolder,
  USER_FIELDS_SUFFIX,
  USERS_FILE,
  writeFolder,
} from "./folder.js";
export { dataSchemaOf, featureSchema, type DataSchema, type FieldInfo } from "./schema.js";
export {
  allocWindows,
  fillPhaseWindow,
  fillWindow,
  lastTarget,
  leaveOneOut,
  type LeaveOneOut,
  type Phase,
  type Windows,
} from "./split.js";
export { generateSynthetic, SYNTHETIC_DEFAULTS, syntheticDataset, type PlantedStructure, type SyntheticOptions } from "./synthetic.js";
