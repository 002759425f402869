// The one home of dataset facts: input shape, classes, class names, normalisation and background of the
// datasets our models are built for. Pure data (no Node or DOM imports): the CLI, the trainer, the app
// and its workers all read it from here.
import cifar10Labels from '../models/labels/cifar10.json';
import fashionMnistLabels from '../models/labels/fashion-mnist.json';
import imagenetLabels from '../models/labels/imagenet.json';

export interface Dataset {
  readonly id: 'fashion-mnist' | 'cifar10' | 'imagenet';
  /** As papers and model metadata write it ('Fashion-MNIST'). */
  readonly name: string;
  readonly channels: 1 | 3;
  /** Height and width of the images a model of this dataset takes. */
  readonly size: number;
  readonly classes: number;
  readonly labels: readonly string[];
  /** Per-channel pixel mean and std (pixels scaled to [0,1]). Trained models store the exact ones they measured. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /**
   * 'dark': objects over a black background (Fashion-MNIST's garments are light on black); photos of the
   * opposite polarity are inverted before they reach such a model. Absent: no fixed background.
   */
  readonly background?: 'dark';
}

export const FASHION_MNIST: Dataset = {
  id: 'fashion-mnist', name: 'Fashion-MNIST', channels: 1, size: 28, classes: 10, labels: fashionMnistLabels,
  // Pixel statistics of the 60000 training images, rounded (the shipped models measured 0.286041 and 0.353024).
  mean: [0.286], std: [0.353], background: 'dark',
};

export const CIFAR10: Dataset = {
  id: 'cifar10', name: 'CIFAR-10', channels: 3, size: 32, classes: 10, labels: cifar10Labels,
  mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616],
};

export const IMAGENET: Dataset = {
  id: 'imagenet', name: 'ImageNet', channels: 3, size: 224, classes: 1000, labels: imagenetLabels,
  // torchvision's normalisation for ImageNet classifiers.
  mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
};

export const DATASETS: Readonly<Record<Dataset['id'], Dataset>> = { 'fashion-mnist': FASHION_MNIST, cifar10: CIFAR10, imagenet: IMAGENET };

/** The dataset a model's metadata names ('Fashion-MNIST', 'fashion-mnist'...), if it is one of ours. */
export function datasetNamed(name: string): Dataset | undefined {
  const key = name.trim().toLowerCase();
  return Object.values(DATASETS).find((d) => d.id === key || d.name.toLowerCase() === key);
}

/** Class names for a classifier with no names of its own: ImageNet-1k's for 1000-way outputs, else none. */
export function fallbackLabels(classes: number): readonly string[] {
  return classes === IMAGENET.classes ? IMAGENET.labels : [];
}
