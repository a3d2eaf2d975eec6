export { RowsLogitsModel, type ForwardRow, type RowForward } from './rows-logits-model.js';
export { LocalLoadedModel, type LocalModelParts } from './local-loaded-model.js';
