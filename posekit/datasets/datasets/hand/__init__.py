from .onehand10k_dataset import OneHand10KDataset

__all__ = ['OneHand10KDataset']
