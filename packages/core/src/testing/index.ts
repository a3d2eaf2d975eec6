export { describeEngineContract, type ContractCheckpoints, type EngineContractOptions } from './engine-contract.js';
